using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using RayRunner.Core;
using RayRunner.Tests.Unit.Store;
using Xunit;

namespace RayRunner.Tests.Unit.Module
{
    /// <summary>
    /// Issue 6 from PowerShell: -Resume of a sweep, Resume-RaySweep over orphaned queued runs, and a
    /// session that lists and collects the runs another session started (the fake backend is shared
    /// by both sessions, as a real cluster would be; the run store is the test's own).
    /// </summary>
    [Collection(ModuleCollection.Name)]
    public sealed class ResumeAndOtherSessionTests
    {
        const string Ep = "-Entrypoint 'python train.py {overrides}'";

        static string Id(ErrorRecord e) => e.FullyQualifiedErrorId.Split(',')[0];

        static TaskOutput Loss(double lr) => new TaskOutput
        {
            Status = RunStatus.Completed,
            Metrics = new Dictionary<string, double> { ["loss"] = Math.Round(lr * 10, 6) },
        };

        static double LrOf(TaskSpec spec) => Convert.ToDouble(spec.Input.Config["lr"]);

        static List<string> Strings(Outcome o, string property) => o.Output.Select(p => (string)p.Properties[property].Value).ToList();

        static ErrorRecord Caught(ModuleHost host, string command)
        {
            var o = host.Run($"try {{ {command} ; 'not reached' }} catch {{ $_ }}");
            return Assert.IsType<ErrorRecord>(Assert.Single(o.Output).BaseObject);
        }

        // ------------------------------------------------------------------------------------
        // -Resume
        // ------------------------------------------------------------------------------------

        [Fact]
        public void ResumeSkipsCompletedConfigsAndRunsOnlyFailedAndMissingOnes()
        {
            using var host = new ModuleHost();
            // lr=0.2 fails on its first attempt only, like a run that diverged once.
            var attempts = new ConcurrentDictionary<double, int>();
            host.Backend.AutoComplete = spec =>
            {
                var lr = LrOf(spec);
                return attempts.AddOrUpdate(lr, 1, (_, n) => n + 1) == 1 && lr == 0.2
                    ? TaskOutput.Failure(spec.RunId, RunStatus.Failed, "diverged")
                    : Loss(lr);
            };
            var first = host.Run($"@{{lr=0.1}}, @{{lr=0.2}} | Invoke-RayExperiment {Ep} -SweepId grid").AssertClean();
            Assert.Equal(new[] { "completed", "failed" }, Strings(first, "Status"));
            var completedId = Strings(first, "RunId")[0];
            Assert.Equal(2, host.Backend.Submissions.Count);

            var resumed = host.Run($"@{{lr=0.1}}, @{{lr=0.2}}, @{{lr=0.3}} | Start-RayExperiment {Ep} -SweepId grid -Resume -Verbose").AssertClean();

            // One RayRun per config, in input order; the completed config's is its earlier run.
            Assert.Equal(3, resumed.Output.Count);
            Assert.All(resumed.Output, p => Assert.Equal("RayRunner.RayRun", p.TypeNames[0]));
            var ids = Strings(resumed, "RunId");
            Assert.Equal(completedId, ids[0]);
            Assert.Equal("completed", resumed.Prop(0, "Status"));
            Assert.Equal(3, ids.Distinct().Count());
            Assert.All(resumed.Output, p => Assert.Equal("grid", p.Properties["SweepId"].Value));
            // Only the failed and the missing config reached the backend again.
            Assert.Equal(new[] { 0.2, 0.3 }, host.Backend.Submissions.Skip(2).Select(s => LrOf(s.Spec)).OrderBy(x => x));
            Assert.Contains(resumed.Verbose, v => v.Contains($"completed earlier in run {completedId}"));

            var results = host.Run($"'{string.Join("','", ids)}' | Wait-RayRun | Receive-RayRun").AssertClean();
            Assert.Equal(new[] { 1.0, 2.0, 3.0 }, results.Output.Select(r => (double)r.Properties["loss"].Value));
            Assert.All(results.Output, r => Assert.Equal("completed", r.Properties["Status"].Value));

            // Invoke -Resume of a finished sweep runs nothing and still returns every config's result, in order.
            var again = host.Run($"@{{lr=0.3}}, @{{lr=0.1}} | Invoke-RayExperiment {Ep} -SweepId grid -Resume").AssertClean();
            Assert.Equal(new[] { 3.0, 1.0 }, again.Output.Select(r => (double)r.Properties["loss"].Value));
            Assert.Equal(4, host.Backend.Submissions.Count);
        }

        [Fact]
        public void ResumeWithoutSweepIdOrWithRunIdIsATerminatingErrorBeforeAnythingStarts()
        {
            using var host = new ModuleHost();
            foreach (var command in new[] { $"@{{lr=1}} | Start-RayExperiment {Ep} -Resume", $"Invoke-RayExperiment -Config @{{lr=1}} {Ep} -Resume" })
            {
                var record = Caught(host, command);
                Assert.Equal("ResumeNeedsSweepId", Id(record));
                Assert.Equal(ErrorCategory.InvalidArgument, record.CategoryInfo.Category);
                Assert.Contains("-SweepId", record.Exception.Message);
            }
            var withRunId = Caught(host, $"Start-RayExperiment -Config @{{lr=1}} {Ep} -SweepId s -RunId r1 -Resume");
            Assert.Equal("ResumeWithRunId", Id(withRunId));
            Assert.Empty(host.Backend.Submissions);
            Assert.Empty(host.ConnectSettings);
        }

        // ------------------------------------------------------------------------------------
        // Resume-RaySweep
        // ------------------------------------------------------------------------------------

        /// <summary>Queued records left by a process that died (this pid with a start time it never had).</summary>
        static void WriteOrphans(ModuleHost host, params (string RunId, string SweepId, double Lr)[] runs)
        {
            var store = new FileRunStore(host.StoreRoot);
            foreach (var (runId, sweepId, lr) in runs)
                store.Save(StoreRecords.Queued(runId, "fake", "python train.py {overrides}", sweepId,
                    new Dictionary<string, object?> { ["lr"] = lr }, owner: StoreRecords.DeadProcess));
        }

        [Fact]
        public void WaitingOnAnUnfinishedRunOfAnotherBackendIsAPerItemError()
        {
            using var host = new ModuleHost();
            new FileRunStore(host.StoreRoot).Save(StoreRecords.Queued("elsewhere", "ray", "python train.py {overrides}", "night",
                owner: StoreRecords.DeadProcess));

            var o = host.Run("$null = Start-RayExperiment -Config @{ lr = 1 } -Entrypoint 'python train.py {overrides}' -RunId here; " +
                             "Wait-RayRun -RunId elsewhere, here -ErrorAction SilentlyContinue");

            Assert.Equal("RunOnOtherBackend,RayRunner.PowerShell.WaitRayRunCommand", host.LastErrorId());
            Assert.Equal(new object[] { "here" }, o.Output.Select(p => p.Properties["RunId"].Value));
            Assert.DoesNotContain("elsewhere", host.Backend.SubmittedRunIds);
        }

        [Fact]
        public void ResumeRaySweepWhatIfNeitherConnectsNorDispatches()
        {
            using var host = new ModuleHost();
            WriteOrphans(host, ("orph-a1", "night", 0.1), ("orph-a2", "night", 0.2));

            var whatIf = host.Run("Resume-RaySweep -SweepId night -WhatIf").AssertClean();
            Assert.Empty(whatIf.Output);
            Assert.Empty(host.Backend.Submissions);
            Assert.Empty(host.ConnectSettings);
            Assert.Equal(new object[] { "queued", "queued" },
                host.Run("Get-RayRunStatus orph-a1, orph-a2 | ForEach-Object Status").AssertClean().Output.Select(p => p.BaseObject));
        }

        [Fact]
        public void ResumeRaySweepDispatchesTheOrphansOfASweepOnlyOnceAndLeavesLiveHoldersAlone()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = spec => Loss(LrOf(spec));
            WriteOrphans(host, ("orph-a1", "night", 0.1), ("orph-a2", "night", 0.2), ("orph-b1", "other", 0.3));
            // A queued run whose owner lives (this very process) is its owner's to dispatch.
            new FileRunStore(host.StoreRoot).Save(StoreRecords.Queued("held-a3", "fake", "python train.py {overrides}", "night",
                new Dictionary<string, object?> { ["lr"] = 0.4 }, owner: ProcessIdentity.Current));

            var resumed = host.Run("Resume-RaySweep -SweepId night").AssertClean();
            Assert.All(resumed.Output, p => Assert.Equal("RayRunner.RayRun", p.TypeNames[0]));
            Assert.Equal(new[] { "orph-a1", "orph-a2" }, Strings(resumed, "RunId"));
            Assert.Equal(new[] { "orph-a1", "orph-a2" }, host.Backend.SubmittedRunIds.OrderBy(i => i, StringComparer.Ordinal));
            // Not connected before: it connected to the orphans' backend, without auto-starting anything.
            var settings = Assert.Single(host.ConnectSettings);
            Assert.True(settings.NoAutoStart);

            var results = host.Run("Receive-RayRun orph-a1, orph-a2 -Wait").AssertClean();
            Assert.Equal(new[] { 1.0, 2.0 }, results.Output.Select(r => (double)r.Properties["loss"].Value));

            // Again: nothing is left to dispatch in that sweep.
            Assert.Empty(host.Run("Resume-RaySweep -SweepId night").AssertClean().Output);
            Assert.Equal(2, host.Backend.Submissions.Count);

            // A piped run of no sweep binds no sweep id: it does not widen the call to every orphan.
            Assert.Empty(host.Run("[pscustomobject]@{ RunId = 'x'; SweepId = $null } | Resume-RaySweep").AssertClean().Output);
            // By property name from RayRun objects.
            var piped = host.Run("Get-RayRun -RunId orph-b1 | Resume-RaySweep").AssertClean();
            Assert.Equal(new[] { "orph-b1" }, Strings(piped, "RunId"));
            Assert.DoesNotContain("held-a3", host.Backend.SubmittedRunIds);
        }

        [Fact]
        public void ResumeRaySweepRefusesWildcardSweepIds()
        {
            using var host = new ModuleHost();
            WriteOrphans(host, ("orph-a1", "night", 0.1));
            var o = host.Run("Resume-RaySweep -SweepId 'ni*'");
            Assert.Null(o.Terminating);
            var error = Assert.Single(o.Errors);
            Assert.Equal("SweepIdInvalid", Id(error));
            Assert.Contains("Get-RayRun -SweepId", error.Exception.Message);
            Assert.Empty(o.Output);
            Assert.Empty(host.Backend.Submissions);
        }

        // ------------------------------------------------------------------------------------
        // Runs of another session
        // ------------------------------------------------------------------------------------

        [Fact]
        public void AnotherSessionsRunsAreListedWithoutConnectingAndCollectedByFollowingThem()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            var ids = host.RunInOtherSession($"@{{lr=0.1}}, @{{lr=0.2}} | Start-RayExperiment {Ep} -SweepId handoff | ForEach-Object RunId")
                .AssertClean().Output.Select(p => p.ToString()).ToList();
            Assert.Equal(2, ids.Count);
            Assert.Single(host.ConnectSettings);

            // This session never connected: the store answers, and nothing connects.
            var listed = host.Run("Get-RayRun -SweepId handoff").AssertClean();
            Assert.Equal(ids, Strings(listed, "RunId"));
            Assert.All(listed.Output, p => Assert.Equal(false, p.Properties["IsTracked"].Value));
            Assert.All(Strings(listed, "Status"), s => Assert.Contains(s, new[] { "pending", "running" }));
            var statuses = host.Run($"Get-RayRunStatus {ids[0]}, {ids[1]}, nobody | ForEach-Object Status").AssertClean();
            Assert.Equal("unknown", statuses.Output[2].ToString());
            Assert.All(statuses.Output.Take(2), s => Assert.Contains(s.ToString(), new[] { "pending", "running" }));
            Assert.Empty(host.Run("Get-RayCluster").AssertClean().Output);
            // Tab completion offers the stored runs too.
            var prefix = ids[0].Substring(0, 6);
            var completed = host.Run($"$line = 'Receive-RayRun -RunId {prefix}'; [System.Management.Automation.CommandCompletion]::CompleteInput($line, $line.Length, $null).CompletionMatches | ForEach-Object CompletionText").AssertClean();
            Assert.Contains(ids[0], completed.Output.Select(p => p.ToString()));
            Assert.Single(host.ConnectSettings);

            // Unfinished: collecting them follows them through their backend, which this session connects to.
            host.Backend.Complete(ids[0], Loss(0.1));
            host.Backend.Complete(ids[1], Loss(0.2));
            var results = host.Run("Get-RayRun -SweepId handoff | Receive-RayRun -Wait").AssertClean();
            Assert.Equal(ids, Strings(results, "RunId"));
            Assert.Equal(new[] { 1.0, 2.0 }, results.Output.Select(r => (double)r.Properties["loss"].Value));
            Assert.Equal(2, host.ConnectSettings.Count);
            Assert.Equal(2, host.Backend.Submissions.Count); // followed, never submitted again
        }

        [Fact]
        public void FinishedRunsOfAnotherSessionAreCollectedFromTheStoreWithoutConnecting()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = spec => Loss(LrOf(spec));
            host.RunInOtherSession($"@{{lr=0.1}}, @{{lr=0.2}} | Invoke-RayExperiment {Ep} -SweepId done | Out-Null").AssertClean();
            Assert.Single(host.ConnectSettings);

            var o = host.Run("Get-RayRun -SweepId done | Wait-RayRun | Receive-RayRun").AssertClean();
            Assert.Equal(new[] { 1.0, 2.0 }, o.Output.Select(r => (double)r.Properties["loss"].Value));
            Assert.Equal(new object[] { "completed", "completed" }, host.Run("Get-RayRun -SweepId done | Get-RayRunStatus | ForEach-Object Status").AssertClean().Output.Select(p => p.BaseObject));
            Assert.Single(host.ConnectSettings); // no backend was needed
        }

        [Fact]
        public void QueuedRunsLeftByAClosedSessionAreDispatchedByTheWaitOfAnother()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            var ids = host.RunInOtherSession($"Connect-RayCluster -MaxConcurrent 1 | Out-Null; @{{lr=0.1}}, @{{lr=0.2}}, @{{lr=0.3}} | Start-RayExperiment {Ep} -SweepId left | ForEach-Object RunId")
                .AssertClean().Output.Select(p => p.ToString()).ToList();
            // Only the first reached the backend before that session closed; the others are orphans now.
            Assert.Equal(new[] { ids[0] }, host.Backend.SubmittedRunIds);
            Assert.Equal(new object[] { "queued", "queued" },
                host.Run($"Get-RayRunStatus {ids[1]}, {ids[2]} | ForEach-Object Status").AssertClean().Output.Select(p => p.BaseObject));

            host.Backend.AutoComplete = spec => Loss(LrOf(spec));
            host.Backend.Complete(ids[0], Loss(0.1));
            var waited = host.Run($"Wait-RayRun {ids[0]}, {ids[1]}, {ids[2]}").AssertClean();
            Assert.Equal(ids, Strings(waited, "RunId"));
            Assert.All(Strings(waited, "Status"), s => Assert.Equal("completed", s));
            // Each run reached the backend exactly once.
            Assert.Equal(ids.OrderBy(i => i, StringComparer.Ordinal), host.Backend.SubmittedRunIds.OrderBy(i => i, StringComparer.Ordinal));
        }
    }
}
