using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using RayRunner.Core;
using RayRunner.Tests.Unit.Fakes;
using Xunit;

namespace RayRunner.Tests.Unit.Module
{
    /// <summary>Real pipelines over the staged module with the fake backend at the boundary.</summary>
    [Collection(ModuleCollection.Name)]
    public sealed class RunPipelineTests
    {
        const string Ep = "-Entrypoint 'python train.py {overrides}'";

        /// <summary>Reports loss = lr * 10, so results can be told apart and sorted.</summary>
        static TaskOutput LossFromLr(TaskSpec spec)
        {
            var lr = Convert.ToDouble(spec.Input.Config["lr"]);
            return new TaskOutput
            {
                Status = RunStatus.Completed,
                Metrics = new Dictionary<string, double> { ["loss"] = lr * 10, ["Status"] = 7 },
                CheckpointUri = "file:///ckpt/" + spec.RunId,
                DurationSeconds = 2,
            };
        }

        static async System.Threading.Tasks.Task<bool> Finishes(System.Threading.Tasks.Task task) =>
            await System.Threading.Tasks.Task.WhenAny(task, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(30))) == task;

        static bool Eventually(Func<bool> condition) => SpinWait.SpinUntil(condition, TimeSpan.FromSeconds(30));

        [Fact]
        public void PipedConfigsBecomeOneSweepWithUniqueRunIds()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            var o = host.Run($"@{{lr=0.1}}, @{{lr=0.2}}, @{{lr=0.3}} | Start-RayExperiment {Ep}").AssertClean();

            var runs = o.Output.Select(p => p.BaseObject).ToList();
            Assert.Equal(3, runs.Count);
            Assert.All(o.Output, p => Assert.Equal("RayRunner.RayRun", p.TypeNames[0]));
            var ids = o.Output.Select(p => (string)p.Properties["RunId"].Value).ToList();
            Assert.Equal(3, ids.Distinct().Count());
            Assert.All(ids, id => Assert.Matches("^[0-9a-f]{8}$", id));
            var sweeps = o.Output.Select(p => (string?)p.Properties["SweepId"].Value).Distinct().ToList();
            Assert.Single(sweeps);
            Assert.NotNull(sweeps[0]);
            // Non-blocking: the runs were handed over and none has finished.
            Assert.Equal(ids, host.Backend.SubmittedRunIds);
            Assert.All(o.Output, p => Assert.Contains((string)p.Properties["Status"].Value, new[] { "pending", "running", "queued" }));
        }

        [Fact]
        public void StartWaitReceiveGivesResultsWithMetricsAsProperties()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = LossFromLr;
            var o = host.Run($@"$results = @{{lr=0.3}}, @{{lr=0.1}}, @{{lr=0.2}} | Start-RayExperiment {Ep} | Wait-RayRun | Receive-RayRun
                $results
                ($results | Where-Object {{ $_.loss -lt 2.5 }} | ForEach-Object {{ $_.Config.lr }}) -join ','").AssertClean();

            var results = o.Output.Take(3).ToList();
            Assert.All(results, r => Assert.Equal("RayRunner.ExperimentResult", r.TypeNames[0]));
            Assert.Equal(new[] { 3.0, 1.0, 2.0 }, results.Select(r => (double)r.Properties["loss"].Value));
            Assert.Equal("0.1,0.2", o.Output[3].ToString());
            Assert.All(results, r => Assert.Equal("completed", r.Properties["Status"].Value));
            // A metric named like a real property never hides it; it stays reachable through Metrics.
            Assert.Equal(7.0, ((IDictionary)results[0].Properties["Metrics"].Value)["Status"]);
            Assert.StartsWith("file:///ckpt/", (string)results[0].Properties["CheckpointPath"].Value);
        }

        [Fact]
        public void ConfigsFromPSCustomObjectsJsonAndNestedHashtablesReachTheBackendNormalized()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            host.Run($@"[pscustomobject]@{{ lr = 0.5; model = [pscustomobject]@{{ layers = 4 }} }},
                        '{{""lr"": 0.25, ""tags"": [""a"", ""b""]}}',
                        [ordered]@{{ lr = 1; run_id = 'ignored'; opt = @{{ name = 'adam'; betas = @(0.9, 0.99) }} }} | Start-RayExperiment {Ep}").AssertClean();

            var configs = host.Backend.Submissions.Select(s => s.Spec.Input.Config).ToList();
            Assert.Equal(3, configs.Count);
            Assert.Equal(0.5, configs[0]["lr"]);
            Assert.Equal(4L, ((IReadOnlyDictionary<string, object?>)configs[0]["model"]!)["layers"]);
            Assert.Equal(new object?[] { "a", "b" }, (IEnumerable<object?>)configs[1]["tags"]!);
            Assert.False(configs[2].ContainsKey("run_id")); // tmgg: a run_id inside a config is ignored
            var opt = (IReadOnlyDictionary<string, object?>)configs[2]["opt"]!;
            Assert.Equal("adam", opt["name"]);
            Assert.Equal(new object?[] { 0.9, 0.99 }, (IEnumerable<object?>)opt["betas"]!);
        }

        [Fact]
        public void StartParametersReachTheRunRequest()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            var dir = System.IO.Path.GetTempPath();
            host.Run($"Start-RayExperiment -Config @{{lr=1}} {Ep} -TimeoutSeconds 42 -Tag a, b -SweepId my-sweep -RunId my.run-1 -WorkingDirectory '{dir}'").AssertClean();
            var (spec, options) = Assert.Single(host.Backend.Submissions);
            Assert.Equal("my.run-1", spec.RunId);
            Assert.Equal("my-sweep", spec.SweepId);
            Assert.Equal(42, spec.Input.TimeoutSeconds);
            Assert.Equal(new[] { "a", "b" }, spec.Input.AdditionalTags);
            Assert.Equal(System.IO.Path.GetFullPath(dir).TrimEnd('/'), spec.WorkingDirectory!.TrimEnd('/'));
            Assert.Equal("python train.py {overrides}", spec.Entrypoint.Text);
        }

        [Fact]
        public void InvokeWritesResultsInInputOrderWhateverOrderRunsFinishAndShowsProgress()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            var (ps, pending) = host.Begin($"@{{lr=0.1}}, @{{lr=0.2}}, @{{lr=0.3}} | Invoke-RayExperiment {Ep}");
            using (ps)
            {
                Assert.True(Eventually(() => host.Backend.Submissions.Count == 3));
                var specs = host.Backend.Submissions.Select(s => s.Spec).ToList();
                foreach (var spec in Enumerable.Reverse(specs)) host.Backend.Complete(spec.RunId, LossFromLr(spec));
                var output = ps.EndInvoke(pending);

                Assert.Empty(ps.Streams.Error);
                Assert.Equal(specs.Select(s => s.RunId), output.Select(r => (string)r.Properties["RunId"].Value));
                Assert.Equal(new[] { 1.0, 2.0, 3.0 }, output.Select(r => Math.Round((double)r.Properties["loss"].Value, 6)));
                Assert.Contains(ps.Streams.Progress, p => p.RecordType == ProgressRecordType.Completed);
            }
            // tmgg's run_sweep drops finished runs from tracking; the records remain listed.
            var listed = host.Run("Get-RayRun | ForEach-Object { $_.IsTracked }").AssertClean();
            Assert.Equal(new object[] { false, false, false }, listed.Output.Select(p => p.BaseObject));
        }

        [Fact]
        public void ProgressPreferenceSilencesInvokeProgress()
        {
            using var host = new ModuleHost();
            var o = host.Run($"$ProgressPreference = 'SilentlyContinue'; Invoke-RayExperiment -Config @{{lr=0.1}} {Ep}").AssertClean();
            Assert.Single(o.Output);
            Assert.Empty(o.Progress);
            var shown = host.Run($"$ProgressPreference = 'Continue'; Invoke-RayExperiment -Config @{{lr=0.1}} {Ep}").AssertClean();
            Assert.NotEmpty(shown.Progress);
        }

        [Fact]
        public void GetRayRunFiltersByWildcardSweepAndStatus()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            host.Run($"@{{lr=1}}, @{{lr=2}} | Start-RayExperiment {Ep} -SweepId alpha; Start-RayExperiment -Config @{{lr=3}} {Ep} -RunId beta-1").AssertClean();
            var alpha = host.Backend.SubmittedRunIds[0];
            host.Backend.Complete(alpha, new TaskOutput { Status = RunStatus.Completed });
            Assert.True(Eventually(() => host.Run($"(Get-RayRunStatus {alpha}).Status").Output[0].ToString() == "completed"));

            Assert.Equal(3, host.Run("Get-RayRun").AssertClean().Output.Count);
            Assert.Equal(2, host.Run("Get-RayRun -SweepId al*").AssertClean().Output.Count);
            Assert.Equal("beta-1", host.Run("Get-RayRun -RunId BETA*").AssertClean().Output.Single().Properties["RunId"].Value);
            Assert.Equal(alpha, host.Run("Get-RayRun -Status completed").AssertClean().Output.Single().Properties["RunId"].Value);
            // Unfinished runs are asked fresh: the fake says "running", not the "pending" last seen at submission.
            Assert.Equal(new object[] { "running", "running" }, host.Run("Get-RayRun -Status running, pending | ForEach-Object Status").AssertClean().Output.Select(p => p.BaseObject));
            Assert.Empty(host.Run("Get-RayRun -RunId zz*").AssertClean().Output);
        }

        [Fact]
        public void RunIdBindsByValueAndByPropertyNameWithItsAliases()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            var id = host.Run($"(Start-RayExperiment -Config @{{lr=1}} {Ep}).RunId").AssertClean().Output[0].ToString();
            var o = host.Run($@"'{id}' | Get-RayRunStatus
                Get-RayRun | Get-RayRunStatus
                [pscustomobject]@{{ Id = '{id}' }} | Get-RayRunStatus
                [pscustomobject]@{{ SubmissionId = '{id}' }} | Get-RayRunStatus
                Get-RayRunStatus -RunId nobody-knows").AssertClean();
            Assert.All(o.Output, p => Assert.Equal("RayRunner.RunStatus", p.TypeNames[0]));
            Assert.Equal(new[] { id, id, id, id, "nobody-knows" }, o.Output.Select(p => (string)p.Properties["RunId"].Value));
            Assert.Equal(new[] { "running", "running", "running", "running", "unknown" }, o.Output.Select(p => (string)p.Properties["Status"].Value));
        }

        [Fact]
        public void WaitRayRunHonoursTimeoutAndAny()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            host.Run($"$runs = @{{lr=1}}, @{{lr=2}} | Start-RayExperiment {Ep}").AssertClean();

            // A timeout is no error, but it is never silent: one warning counts and names the runs left.
            var timedOut = host.Run("$runs | Wait-RayRun -Timeout 0").AssertClean();
            Assert.Empty(timedOut.Output);
            var ids = host.Backend.SubmittedRunIds;
            Assert.Equal($"2 run(s) not finished after 00:00:00: {ids[0]}, {ids[1]}. They go on running: wait again (Wait-RayRun) or stop them (Stop-RayRun).",
                Assert.Single(timedOut.Warnings));
            Assert.Single(host.Run("$runs | Wait-RayRun -Any -Timeout 0").AssertClean().Warnings);

            var second = host.Backend.SubmittedRunIds[1];
            host.Backend.Complete(second, new TaskOutput { Status = RunStatus.Completed });
            var any = host.Run("$runs | Wait-RayRun -Any").AssertClean();
            Assert.Equal(second, any.Output.Single().Properties["RunId"].Value);
            Assert.Empty(any.Warnings);
            // As Wait-Job: the finished run is written, the one still going is named.
            var part = host.Run("$runs | Wait-RayRun -Timeout 0").AssertClean();
            Assert.Equal(second, part.Output.Single().Properties["RunId"].Value);
            Assert.StartsWith($"1 run(s) not finished after 00:00:00: {ids[0]}.", Assert.Single(part.Warnings));

            host.Backend.Complete(host.Backend.SubmittedRunIds[0], new TaskOutput { Status = RunStatus.Failed, ErrorMessage = "diverged" });
            var all = host.Run("$runs | Wait-RayRun").AssertClean();
            Assert.Equal(host.Backend.SubmittedRunIds, all.Output.Select(p => (string)p.Properties["RunId"].Value));
            Assert.Equal("failed", all.Output[0].Properties["Status"].Value);
        }

        [Fact]
        public async System.Threading.Tasks.Task CtrlCStopsAWaitAtOnceAndLeavesTheRunRunning()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            host.Run($"$run = Start-RayExperiment -Config @{{lr=1}} {Ep}").AssertClean();
            var (ps, pending) = host.Begin("$run | Wait-RayRun");
            using (ps)
            {
                Assert.True(Eventually(() => ps.InvocationStateInfo.State == PSInvocationState.Running));
                var stop = System.Threading.Tasks.Task.Run(() => ps.Stop());
                Assert.True(await Finishes(stop), "Stop did not return");
                Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
            }
            Assert.Empty(host.Backend.CancelCalls);
            Assert.Equal("running", host.Run("($run | Get-RayRunStatus).Status").Output[0].ToString());
        }

        [Fact]
        public async System.Threading.Tasks.Task CtrlCDuringInvokeCancelsTheRunsItStarted()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            var (ps, pending) = host.Begin($"@{{lr=1}}, @{{lr=2}} | Invoke-RayExperiment {Ep}");
            using (ps)
            {
                Assert.True(Eventually(() => host.Backend.Submissions.Count == 2));
                var stop = System.Threading.Tasks.Task.Run(() => ps.Stop());
                Assert.True(await Finishes(stop), "Stop did not return");
            }
            Assert.Equal(host.Backend.SubmittedRunIds.OrderBy(i => i), host.Backend.CancelCalls.Select(c => c.RunId).OrderBy(i => i));
        }

        [Fact]
        public void StopRayRunHonoursWhatIfIsSafeToRepeatAndPassesThru()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            host.Run($"$run = Start-RayExperiment -Config @{{lr=1}} {Ep}").AssertClean();

            host.Run("$run | Stop-RayRun -WhatIf").AssertClean();
            Assert.Empty(host.Backend.CancelCalls);

            var stopped = host.Run("$run | Stop-RayRun -PassThru").AssertClean();
            Assert.Equal("cancelled", stopped.Output.Single().Properties["Status"].Value);
            Assert.Single(host.Backend.CancelCalls);

            var again = host.Run("$run | Stop-RayRun -PassThru; ($run | Get-RayRunStatus).Status").AssertClean();
            Assert.Equal("cancelled", again.Output[0].Properties["Status"].Value);
            Assert.Equal("cancelled", again.Output[1].ToString());
            Assert.Single(host.Backend.CancelCalls);

            // A stopped run still has a result to receive.
            var result = host.Run("$run | Receive-RayRun").AssertClean();
            Assert.Equal("cancelled", result.Output.Single().Properties["Status"].Value);
        }

        [Fact]
        public void ReceiveRayRunReportsUnfinishedRunsUnlessAskedToWait()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            host.Run($"$run = Start-RayExperiment -Config @{{lr=1}} {Ep}").AssertClean();
            var early = host.Run("$run | Receive-RayRun");
            Assert.Equal("RunNotFinished", early.Errors.Single().FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal(ErrorCategory.InvalidOperation, early.Errors.Single().CategoryInfo.Category);

            var (ps, pending) = host.Begin("$run | Receive-RayRun -Wait");
            using (ps)
            {
                var id = host.Backend.SubmittedRunIds.Single();
                host.Backend.Complete(id, new TaskOutput { Status = RunStatus.Completed, Metrics = new Dictionary<string, double> { ["acc"] = 0.9 } });
                var output = ps.EndInvoke(pending);
                Assert.Equal(0.9, output.Single().Properties["acc"].Value);
            }
            // Receiving consumes nothing: again, same result.
            Assert.Equal(0.9, host.Run("$run | Receive-RayRun").AssertClean().Output.Single().Properties["acc"].Value);
        }

        [Fact]
        public void RemoveRayRunRefusesActiveRunsHonoursWhatIfAndForgetsFinishedOnes()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            host.Run($"$run = Start-RayExperiment -Config @{{lr=1}} {Ep}").AssertClean();

            var active = host.Run("$run | Remove-RayRun");
            Assert.Equal("RunNotFinished", active.Errors.Single().FullyQualifiedErrorId.Split(',')[0]);

            host.Backend.Complete(host.Backend.SubmittedRunIds.Single(), new TaskOutput { Status = RunStatus.Completed });
            host.Run("$run | Wait-RayRun | Out-Null; $run | Remove-RayRun -WhatIf").AssertClean();
            Assert.Single(host.Run("$run | Get-RayRun").AssertClean().Output);

            host.Run("$run | Remove-RayRun").AssertClean();
            var gone = host.Run("$run | Get-RayRun; ($run | Get-RayRunStatus).Status");
            Assert.Equal("RunNotFound", gone.Errors.Single().FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal("unknown", gone.Output.Single().ToString());
        }

        [Fact]
        public void RemoveRayRunForceStopsThenRemoves()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            host.Run($"$run = Start-RayExperiment -Config @{{lr=1}} {Ep}; $run | Remove-RayRun -Force").AssertClean();
            Assert.Single(host.Backend.CancelCalls);
            Assert.Empty(host.Run("Get-RayRun").AssertClean().Output);
        }

        [Fact]
        public void GetRayRunLogWritesLinesFromTheBackend()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            host.Backend.LogText = id => string.Join("", Enumerable.Range(1, 8).Select(i => $"{id} line {i}\n"));
            host.Run($"Start-RayExperiment -Config @{{lr=1}} {Ep} -RunId logged").AssertClean();
            // -Tail N is the last N lines, one object per line; without it, the whole log.
            var tail = host.Run("Get-RayRunLog -RunId logged -Tail 3").AssertClean();
            Assert.Equal(new[] { "logged line 6", "logged line 7", "logged line 8" }, tail.Output.Select(p => p.ToString()));
            var whole = host.Run("Get-RayRun -RunId logged | Get-RayRunLog").AssertClean();
            Assert.Equal(Enumerable.Range(1, 8).Select(i => $"logged line {i}"), whole.Output.Select(p => p.ToString()));
        }

        [Fact]
        public void GetRayRunLogReadsACollectedRun()
        {
            // Receive-RayRun / Invoke-RayExperiment collect a run (the runner lets go of it); its log
            // is still read, through the run's record in the store.
            using var host = new ModuleHost();
            var o = host.Run($"$ProgressPreference = 'SilentlyContinue'; Invoke-RayExperiment -Config @{{lr=1}} {Ep} -RunId collected | Out-Null; Get-RayRunLog -RunId collected").AssertClean();
            Assert.Equal("log of collected", o.Output.Single().ToString());
        }

        [Fact]
        public void VerboseSaysWhatIsSentWhere()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            var o = host.Run($"Start-RayExperiment -Config @{{lr=0.5}} {Ep} -Verbose").AssertClean();
            Assert.Contains(o.Verbose, v => v.Contains("fake backend at fake://cluster") && v.Contains("python train.py {overrides}"));
            Assert.Contains(o.Verbose, v => v.Contains("{\"lr\":0.5}"));
        }

        [Fact]
        public void RunIdCompleterOffersKnownRuns()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            host.Run($"Start-RayExperiment -Config @{{lr=1}} {Ep} -RunId alpha-1; Start-RayExperiment -Config @{{lr=2}} {Ep} -RunId beta-1").AssertClean();
            var o = host.Run("$line = 'Stop-RayRun -RunId al'; [System.Management.Automation.CommandCompletion]::CompleteInput($line, $line.Length, $null).CompletionMatches | ForEach-Object CompletionText").AssertClean();
            Assert.Equal(new[] { "alpha-1" }, o.Output.Select(p => p.ToString()));
        }
    }
}
