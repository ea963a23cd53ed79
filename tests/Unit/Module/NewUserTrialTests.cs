using System;
using System.Collections.Generic;
using System.Linq;
using RayRunner.Core;
using RayRunner.Tests.Unit.Store;
using Xunit;

namespace RayRunner.Tests.Unit.Module
{
    /// <summary>
    /// Issue 17, what a new user tripped over: queued runs left by an ended session said nothing
    /// (now flagged and warned about once per call), and the run view lacked the config hash.
    /// </summary>
    [Collection(ModuleCollection.Name)]
    public sealed class NewUserTrialTests
    {
        const string Ep = "-Entrypoint 'python train.py {overrides}'";

        static void Save(ModuleHost host, string runId, string? sweepId, double lr, ProcessIdentity owner) =>
            new FileRunStore(host.StoreRoot).Save(StoreRecords.Queued(runId, "fake", "python train.py {overrides}", sweepId,
                new Dictionary<string, object?> { ["lr"] = lr }, owner: owner));

        static Dictionary<string, bool> Orphans(Outcome o) =>
            o.Output.ToDictionary(p => (string)p.Properties["RunId"].Value, p => (bool)p.Properties["IsOrphan"].Value);

        [Fact]
        public void QueuedRunsOfAnEndedSessionAreFlaggedAndWarnedAboutOncePerCall()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = spec => new TaskOutput { Status = RunStatus.Completed };
            Save(host, "orph-a1", "night", 0.1, StoreRecords.DeadProcess);
            Save(host, "orph-a2", "night", 0.2, StoreRecords.DeadProcess);
            // Held by a live process (this one): its owner dispatches it, nothing to warn about.
            Save(host, "held-a3", "night", 0.3, ProcessIdentity.Current);

            // Without a connection (the store read alone): one warning for the two, naming the fix.
            var listed = host.Run("Get-RayRun").AssertClean();
            Assert.Equal(new Dictionary<string, bool> { ["orph-a1"] = true, ["orph-a2"] = true, ["held-a3"] = false }, Orphans(listed));
            var warning = Assert.Single(listed.Warnings);
            Assert.StartsWith("2 queued run(s) will not start by themselves: the session that queued them has ended", warning);
            Assert.Contains("'Resume-RaySweep -SweepId night'", warning);

            var statuses = host.Run("Get-RayRunStatus orph-a1, held-a3, nobody").AssertClean();
            Assert.Equal(new object[] { "queued", "queued", "unknown" }, statuses.Output.Select(p => p.Properties["Status"].Value));
            Assert.StartsWith("1 queued run(s) will not start", Assert.Single(statuses.Warnings));

            // An orphan outside any sweep: Resume-RaySweep with no sweep id is the command that reaches it.
            Save(host, "orph-loose", null, 0.4, StoreRecords.DeadProcess);
            Assert.Contains("'Resume-RaySweep' to dispatch", Assert.Single(host.Run("Get-RayRun -RunId orph-loose").AssertClean().Warnings));

            // Connected, the live runner's view says the same; once dispatched, nothing is left to warn about.
            host.Run($"Connect-RayCluster | Out-Null; $null = Start-RayExperiment -Config @{{ lr = 1 }} {Ep} -RunId mine").AssertClean();
            Assert.Single(host.Run("Get-RayRun -SweepId night").AssertClean().Warnings);
            host.Run("Resume-RaySweep | Wait-RayRun | Out-Null").AssertClean();
            var after = host.Run("Get-RayRun").AssertClean();
            Assert.Empty(after.Warnings);
            Assert.All(after.Output.Where(p => (string)p.Properties["RunId"].Value != "held-a3"),
                p => Assert.False((bool)p.Properties["IsOrphan"].Value));
        }

        [Fact]
        public void RunsCarryTheConfigHashTheStoreRecordsTheSameAsNewRaySweep()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = spec => new TaskOutput { Status = RunStatus.Completed };
            var o = host.Run($@"$sweep = New-RaySweep -Grid ([ordered]@{{ lr = 0.1, 0.2 }}) -Base @{{ epochs = 3 }}
                $runs = $sweep | Start-RayExperiment {Ep} -SweepId h
                $sweep.ConfigHash; $runs.ConfigHash").AssertClean();
            var hashes = o.Output.Select(p => (string)p.BaseObject).ToList();
            Assert.Equal(4, hashes.Count);
            Assert.Equal(hashes.Take(2), hashes.Skip(2));
            Assert.NotEqual(hashes[0], hashes[1]);
            Assert.Matches("^[0-9a-f]{64}$", hashes[0]);

            // Read back from the run store by a session that never connected: the recorded hash.
            var stored = host.RunInOtherSession("Get-RayRun -SweepId h | ForEach-Object ConfigHash").AssertClean();
            Assert.Equal(hashes.Take(2), stored.Output.Select(p => (string)p.BaseObject));
        }
    }
}
