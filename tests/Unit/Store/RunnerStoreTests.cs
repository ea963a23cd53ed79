using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Tests.Unit.Fakes;
using RayRunner.Tests.Unit.Local;
using RayRunner.Tests.Unit.Ray;
using RayRunner.Tests.Unit.Ray.StandIn;
using Xunit;
using CoreRunner = RayRunner.Core.ExperimentRunner;

namespace RayRunner.Tests.Unit.Store
{
    /// <summary>The runner over a file store: records in the right order, and runs of other sessions and processes.</summary>
    public class RunnerStoreTests : IDisposable
    {
        const string Entrypoint = "python train.py {overrides}";
        static readonly TimeSpan Bound = TimeSpan.FromSeconds(60); // generous: the machine is shared and slow

        readonly TempFolder _temp = new TempFolder();
        public void Dispose() => _temp.Dispose();

        FileRunStore NewStore() => new FileRunStore(_temp.Sub("store"), LogRetention.Unlimited);

        static Task<CoreRunner> NewRunner(IRayBackend backend, IRunStore store, int maxConcurrent = 4) =>
            CoreRunner.CreateAsync(backend, new RayRunnerOptions { MaxConcurrent = maxConcurrent, Store = store, Entrypoint = Entrypoint });

        static CancellationToken Within() => new CancellationTokenSource(Bound).Token;

        static Dictionary<string, object?> Config(int i) => new Dictionary<string, object?> { ["lr"] = 0.01 * (i + 1), ["seed"] = (long)i };

        /// <summary>A store that checks, at each save, what the caller has been told so far.</summary>
        sealed class WatchingStore : DelegatingRunStore
        {
            public WatchingStore(IRunStore inner) : base(inner) { }
            public Func<RunRecord, string?>? Check { get; set; }
            public List<string> Violations { get; } = new List<string>();
            public List<string> Statuses { get; } = new List<string>();

            public override RunRecord Save(RunRecord record)
            {
                lock (Violations)
                {
                    Statuses.Add(record.Status + (record.Claim != null ? "+claim" : ""));
                    var violation = Check?.Invoke(record);
                    if (violation != null) Violations.Add(violation);
                }
                return Inner.Save(record);
            }
        }

        [Fact]
        public async Task RunIsRecordedQueuedThenClaimedThenSubmittedThenFinalBeforeTheResultIsReported()
        {
            var fake = new FakeRayBackend { AutoComplete = null };
            var store = new WatchingStore(NewStore());
            using var runner = await NewRunner(fake, store);
            store.Check = record =>
            {
                if (record.Result != null && runner.GetRun(record.RunId)?.Output != null)
                    return "the result was reported before it was recorded";
                if (record.Status == RunStatus.Queued && fake.SubmittedRunIds.Contains(record.RunId))
                    return "the backend had the run before it was recorded as queued";
                return null;
            };

            var spawned = await runner.SpawnExperimentAsync(Config(0));
            var afterSubmit = NewStore().TryLoad(spawned.RunId)!;
            fake.Complete(spawned.RunId, StoreRecords.Completed("worker-id", 0.42));
            var result = await runner.GetResultAsync(spawned.RunId, Within());

            Assert.Empty(store.Violations);
            Assert.Equal(new[] { "queued", "queued+claim", "pending", "completed" }, store.Statuses);
            Assert.Equal("obj-" + spawned.RunId, afterSubmit.Submission!.Locator!["fake_id"]);
            Assert.Null(afterSubmit.Claim);
            Assert.Null(afterSubmit.Owner);
            var final = NewStore().TryLoad(spawned.RunId)!;
            Assert.Equal(0.42, final.Result!.Metrics["loss"]);
            Assert.Equal(spawned.RunId, final.Result.RunId); // the runner's id, never the worker's
            Assert.Equal(0.42, result.Metrics["loss"]);
        }

        [Fact]
        public async Task FinishedRunOfAnEarlierSessionIsAnsweredFromTheStoreWithoutTheBackend()
        {
            string runId;
            using (var first = await NewRunner(new FakeRayBackend(), NewStore()))
            {
                var result = await first.RunExperimentAsync(Config(1), cancellationToken: Within());
                runId = result.RunId;
            }

            var emptyCluster = new FakeRayBackend(); // knows nothing: any call for the run would throw
            using var second = await NewRunner(emptyCluster, NewStore());

            Assert.False(second.IsTracked(runId));
            Assert.Equal(RunStatus.Completed, await second.GetStatusAsync(runId));
            var collected = await second.GetResultAsync(runId, Within());
            Assert.Equal(0.1, collected.Metrics["best_val_loss"]);
            Assert.Equal(0.02, Convert.ToDouble(collected.Config["lr"]), 6);
            Assert.Equal(new[] { runId }, await second.WaitAsync(new[] { runId }, cancellationToken: Within()));
            Assert.Equal(RunStatus.Completed, second.ListRuns().Single(r => r.RunId == runId).Status);
            Assert.Equal(RunStatus.Unknown, await second.GetStatusAsync("deadbeef"));
            Assert.Empty(emptyCluster.Submissions);
        }

        [Fact]
        public async Task SubmittedRunIsReattachedThroughTheBackendByAnotherRunner()
        {
            var cluster = new FakeRayBackend { AutoComplete = null }; // outlives both sessions, as a Ray cluster does
            var first = await NewRunner(cluster, NewStore());
            var spawned = await first.SpawnExperimentAsync(Config(2));
            first.Dispose(); // the session ends; the run goes on

            Assert.Equal(RunStatus.Pending, NewStore().TryLoad(spawned.RunId)!.Status); // not recorded as cancelled
            using var second = await NewRunner(cluster, NewStore());
            Assert.Equal(RunStatus.Running, await second.GetStatusAsync(spawned.RunId));
            var waiting = second.GetResultAsync(spawned.RunId, Within());
            cluster.Complete(spawned.RunId, StoreRecords.Completed("x", 0.7));
            var result = await waiting;

            Assert.Equal(0.7, result.Metrics["loss"]);
            Assert.Equal(RunStatus.Completed, NewStore().TryLoad(spawned.RunId)!.Status);
            Assert.Single(cluster.Submissions); // re-attached, never resubmitted
        }

        [Fact]
        public async Task OrphanedQueuedRunsAreDispatchedOnceByWhoeverResumes()
        {
            var store = NewStore();
            for (var i = 0; i < 6; i++)
                store.Save(StoreRecords.Queued("orphan" + i, "fake", Entrypoint, "s1", Config(i), owner: StoreRecords.DeadProcess));
            store.Save(StoreRecords.Queued("held", "fake", Entrypoint, "s1", Config(9), owner: ProcessIdentity.Current)); // its owner lives
            var fake = new FakeRayBackend();
            using var runner = await NewRunner(fake, NewStore(), maxConcurrent: 2);

            var adopted = await runner.ResumeQueuedAsync("s1", Within());
            var again = await runner.ResumeQueuedAsync("s1", Within());
            await runner.WaitAsync(adopted.Select(a => a.RunId), cancellationToken: Within());

            Assert.Equal(Enumerable.Range(0, 6).Select(i => "orphan" + i), adopted.Select(a => a.RunId));
            Assert.Empty(again);
            Assert.Equal(adopted.Select(a => a.RunId).OrderBy(x => x), fake.SubmittedRunIds.OrderBy(x => x));
            Assert.True(fake.MaxObservedRunning <= 2);
            Assert.All(adopted, a => Assert.Equal(RunStatus.Completed, NewStore().TryLoad(a.RunId)!.Status));
            Assert.Equal(RunStatus.Queued, NewStore().TryLoad("held")!.Status);
        }

        [Fact]
        public async Task WaitingOnAnOrphanedQueuedRunDispatchesIt()
        {
            NewStore().Save(StoreRecords.Queued("orphan1", "fake", Entrypoint, config: Config(3), owner: StoreRecords.DeadProcess));
            var fake = new FakeRayBackend();
            using var runner = await NewRunner(fake, NewStore());

            var done = await runner.WaitAsync(new[] { "orphan1" }, cancellationToken: Within());

            Assert.Equal(new[] { "orphan1" }, done);
            Assert.Equal(new[] { "orphan1" }, fake.SubmittedRunIds);
            Assert.Equal(RunStatus.Completed, (await runner.GetResultAsync("orphan1", Within())).Status);
        }

        [Fact]
        public async Task CrashAfterTheBackendGotTheRunButBeforeItWasRecordedDoesNotDuplicateIt()
        {
            // The dead process claimed the run, the backend accepted it, then the process died
            // before recording the submission.
            var cluster = new FakeRayBackend { AutoComplete = null };
            var record = StoreRecords.Queued("claimed1", "fake", Entrypoint, config: Config(4), owner: StoreRecords.DeadProcess,
                claim: new DispatchClaim { By = StoreRecords.DeadProcess, At = DateTimeOffset.UtcNow });
            NewStore().Save(record);
            await cluster.SubmitAsync(new TaskSpec(record.Spec.Input!, EntrypointTemplate.Parse(Entrypoint)), new TaskOptions(), CancellationToken.None);
            using var runner = await NewRunner(cluster, NewStore());

            var adopted = await runner.ResumeQueuedAsync(cancellationToken: Within());
            var waiting = runner.GetResultAsync("claimed1", Within());
            await WaitUntilAsync(() => NewStore().TryLoad("claimed1")!.IsSubmitted);
            cluster.Complete("claimed1", StoreRecords.Completed("x", 0.5));
            var result = await waiting;

            Assert.Equal(new[] { "claimed1" }, adopted.Select(a => a.RunId));
            Assert.Single(cluster.Submissions); // found on the backend by id, not submitted again
            Assert.Equal(0.5, result.Metrics["loss"]);
            Assert.Null(NewStore().TryLoad("claimed1")!.Claim);
        }

        [Fact]
        public async Task CrashAfterTheClaimButBeforeTheBackendGotTheRunDoesNotLoseIt()
        {
            var record = StoreRecords.Queued("claimed2", "fake", Entrypoint, config: Config(5), owner: StoreRecords.DeadProcess,
                claim: new DispatchClaim { By = StoreRecords.DeadProcess, At = DateTimeOffset.UtcNow });
            NewStore().Save(record);
            var cluster = new FakeRayBackend();
            using var runner = await NewRunner(cluster, NewStore());

            var result = await runner.GetResultAsync("claimed2", Within());

            Assert.Equal(new[] { "claimed2" }, cluster.SubmittedRunIds); // exactly once
            Assert.Equal(RunStatus.Completed, result.Status);
        }

        [Fact]
        public async Task CrashAfterTheClaimOnRaySubmitsTheRunOnceAndCollectsIt()
        {
            // Ray answers a look-up of a job it does not know as "over, with an error": that is not
            // "the backend has it", and the submission that follows must be followed to its result.
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 4 });
            using var ray = await RayTestSupport.ConnectAsync(standIn);
            NewStore().Save(StoreRecords.Queued("claimed3", ray.Name, RayTestSupport.Entrypoint, config: new Dictionary<string, object?> { ["value"] = 9L },
                owner: StoreRecords.DeadProcess, claim: new DispatchClaim { By = StoreRecords.DeadProcess, At = DateTimeOffset.UtcNow }));
            using var runner = await NewRunner(ray, NewStore());

            var result = await runner.GetResultAsync("claimed3", Within());

            Assert.Equal(RunStatus.Completed, result.Status);
            Assert.Equal(9, result.Metrics["value"]);
            Assert.Equal(1, standIn.JobsCreated["claimed3"]);
        }

        [UnixTheory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task LocalRunQueuedInADeadHostsRunnerIsDispatchedAgainNotFailed(bool resumeFirst)
        {
            // The dead host's runner held the run queued, waiting for a CPU slot (the backend holds
            // none: the runner's queue is the only one), and had claimed it to hand it over when the
            // host died: it never started, and this process must start it exactly once.
            var store = NewStore();
            var counts = _temp.Sub("counts");
            Directory.CreateDirectory(counts);
            var script = _temp.Sub("count.sh");
            File.WriteAllText(script, $"echo started >> '{counts}'/\"$1\"\necho 'RAYRUNNER_RESULT {{\"metrics\": {{\"ran\": 1}}}}'\n");
            store.Save(StoreRecords.Queued("stranded1", RayRunner.Core.Local.LocalProcessBackend.BackendName, $"sh {script} {{run_id}}", config: Config(7),
                owner: StoreRecords.DeadProcess, claim: new DispatchClaim { By = StoreRecords.DeadProcess, At = DateTimeOffset.UtcNow }));
            using var local = new RayRunner.Core.Local.LocalProcessBackend(new RayRunner.Core.Local.LocalBackendOptions { NumCpus = 4, LogPathFor = store.LogPathFor });
            using var runner = await NewRunner(local, NewStore());

            Assert.Equal(RunStatus.Queued, await runner.GetStatusAsync("stranded1", Within())); // not "failed", and nothing recorded
            Assert.False(NewStore().TryLoad("stranded1")!.IsFinal);
            if (resumeFirst) Assert.Equal(new[] { "stranded1" }, (await runner.ResumeQueuedAsync(cancellationToken: Within())).Select(a => a.RunId));
            var result = await runner.GetResultAsync("stranded1", Within());

            Assert.Equal(RunStatus.Completed, result.Status);
            Assert.Equal(1, result.Metrics["ran"]);
            Assert.Single(File.ReadAllLines(Path.Combine(counts, "stranded1"))); // started exactly once
            var record = NewStore().TryLoad("stranded1")!;
            Assert.Equal(Environment.ProcessId.ToString(), record.Submission!.Locator!["host_pid"]); // submitted by this process
            Assert.Equal(RunStatus.Completed, record.Result!.Status);
        }

        [Fact]
        public async Task RunBeingHandedOverByALiveProcessIsFollowedNotTakenOver()
        {
            using var other = StartSleeper();
            var otherProcess = ProcessIdentity.Of(other.Id)!;
            var store = NewStore();
            store.Save(StoreRecords.Queued("busy1", "fake", Entrypoint, config: Config(6), owner: otherProcess,
                claim: new DispatchClaim { By = otherProcess, At = DateTimeOffset.UtcNow }));
            var cluster = new FakeRayBackend { AutoComplete = null };
            using var runner = await NewRunner(cluster, NewStore());

            Assert.Empty(await runner.ResumeQueuedAsync(cancellationToken: Within()));
            var waiting = runner.GetResultAsync("busy1", Within());
            Assert.Equal(RunStatus.Queued, await runner.GetStatusAsync("busy1"));
            Assert.Empty(cluster.Submissions);

            // The other process finishes its hand-over: the follower sees it and re-attaches.
            var taskRef = await cluster.SubmitAsync(new TaskSpec(store.TryLoad("busy1")!.Spec.Input!, EntrypointTemplate.Parse(Entrypoint)), new TaskOptions(), CancellationToken.None);
            store.Save(store.TryLoad("busy1")!.With(status: RunStatus.Pending, clearOwner: true, clearClaim: true,
                submission: new SubmissionRecord { Backend = "fake", Locator = taskRef.Locator, SubmittedAt = DateTimeOffset.UtcNow }));
            cluster.Complete("busy1", StoreRecords.Completed("x", 0.3));

            Assert.Equal(0.3, (await waiting).Metrics["loss"]);
            Assert.Single(cluster.Submissions);
        }

        [Fact]
        public async Task QueuedRunHeldByAnotherProcessCanBeCancelledThroughTheStore()
        {
            using var other = StartSleeper();
            var store = NewStore();
            store.Save(StoreRecords.Queued("held1", "fake", Entrypoint, config: Config(7), owner: ProcessIdentity.Of(other.Id)));
            var cluster = new FakeRayBackend();
            using var runner = await NewRunner(cluster, NewStore());

            Assert.True(await runner.CancelAsync("held1"));
            Assert.False(await runner.CancelAsync("held1")); // already final

            Assert.Equal(RunStatus.Cancelled, NewStore().TryLoad("held1")!.Status);
            Assert.Equal(RunStatus.Cancelled, await runner.GetStatusAsync("held1"));
            Assert.Empty(cluster.Submissions);
        }

        [Fact]
        public async Task DisposedRunnerLetsGoOfItsQueuedRunsSoAnotherRunnerResumesThem()
        {
            var cluster = new FakeRayBackend { AutoComplete = null };
            var first = await NewRunner(cluster, NewStore(), maxConcurrent: 1);
            var spawned = await first.SpawnSweepAsync(new object[] { Config(0), Config(1), Config(2) }, new RunRequest { SweepId = "s2" });
            first.Dispose();

            using var second = await NewRunner(cluster, NewStore(), maxConcurrent: 4);
            var adopted = await second.ResumeQueuedAsync("s2", Within());
            foreach (var s in spawned) await WaitUntilAsync(() => cluster.SubmittedRunIds.Contains(s.RunId));
            foreach (var s in spawned) cluster.Complete(s.RunId, StoreRecords.Completed("x", 1));
            var done = await second.WaitAsync(spawned.Select(s => s.RunId), cancellationToken: Within());

            Assert.Equal(spawned.Skip(1).Select(s => s.RunId), adopted.Select(a => a.RunId));
            Assert.Equal(3, done.Count);
            Assert.Equal(3, cluster.Submissions.Count);
        }

        [Fact]
        public async Task ResumedSweepSkipsCompletedConfigsAndRerunsFailedAndMissingOnes()
        {
            var cluster = new FakeRayBackend
            {
                AutoComplete = spec => Convert.ToInt64(spec.Input.Config["seed"]) == 2
                    ? TaskOutput.Failure(spec.RunId, RunStatus.Failed, "diverged")
                    : FakeRayBackend.CannedOutput(spec.RunId),
            };
            var configs = Enumerable.Range(0, 4).Select(i => (object)Config(i)).ToList();
            IReadOnlyList<ExperimentResult> firstResults;
            using (var first = await NewRunner(cluster, NewStore()))
                firstResults = await first.RunSweepAsync(configs, new RunRequest { SweepId = "s3" }, Within());
            NewStore().Delete(firstResults[3].RunId); // config 3's run is gone from the store
            cluster.AutoComplete = spec => FakeRayBackend.CannedOutput(spec.RunId);
            var submittedBefore = cluster.Submissions.Count;

            using var second = await NewRunner(cluster, NewStore());
            var reversed = Enumerable.Range(0, 4).Reverse().Select(i => (object)new Dictionary<string, object?> { ["seed"] = (long)i, ["lr"] = 0.01 * (i + 1) }).ToList();
            var handles = await second.SpawnSweepAsync(reversed, new RunRequest { SweepId = "s3", Resume = true }, Within());
            var results = await Task.WhenAll(handles.Select(h => second.GetResultAsync(h.RunId, Within())));

            var newlySubmitted = cluster.SubmittedRunIds.Skip(submittedBefore).ToList();
            Assert.Equal(2, newlySubmitted.Count); // seed 2 (failed) and seed 3 (missing)
            Assert.Equal(firstResults[1].RunId, handles[2].RunId); // key order does not matter: same config hash
            Assert.Equal(firstResults[0].RunId, handles[3].RunId);
            Assert.Contains(handles[1].RunId, newlySubmitted);
            Assert.Contains(handles[0].RunId, newlySubmitted);
            Assert.All(results, r => Assert.Equal(RunStatus.Completed, r.Status));
        }

        [Fact]
        public async Task ResumeWithoutASweepIdIsAClearError()
        {
            using var runner = await NewRunner(new FakeRayBackend(), NewStore());
            var ex = await Assert.ThrowsAsync<ArgumentException>(() => runner.SpawnSweepAsync(new object[] { Config(0) }, new RunRequest { Resume = true }));
            Assert.Contains("SweepId", ex.Message);
        }

        [Fact]
        public async Task RemoveDeletesAFinishedRunAndItsBackendRecordAndRefusesAnUnfinishedOne()
        {
            var backend = new RemovingFakeBackend(new FakeRayBackend { AutoComplete = null });
            using var runner = await NewRunner(backend, NewStore());
            var running = await runner.SpawnExperimentAsync(Config(0));
            var finished = await runner.SpawnExperimentAsync(Config(1));
            backend.Inner.Complete(finished.RunId, StoreRecords.Completed("x", 1));
            await runner.GetResultAsync(finished.RunId, Within());

            var refusal = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.RemoveRunAsync(running.RunId));
            Assert.Contains("has not finished", refusal.Message);
            Assert.True(await runner.RemoveRunAsync(finished.RunId));
            Assert.False(await runner.RemoveRunAsync(finished.RunId));

            Assert.Equal(new[] { finished.RunId }, backend.Removed);
            Assert.Null(NewStore().TryLoad(finished.RunId));
            Assert.False(Directory.Exists(Path.Combine(NewStore().RunsFolder, finished.RunId)));
            Assert.NotNull(NewStore().TryLoad(running.RunId));
        }

        [Fact]
        public async Task RemoveKeepsTheRunWhenTheBackendRefusesToDeleteIt()
        {
            var backend = new RemovingFakeBackend(new FakeRayBackend()) { RemoveThrows = new IOException("dashboard down") };
            using var runner = await NewRunner(backend, NewStore());
            var result = await runner.RunExperimentAsync(Config(0), cancellationToken: Within());

            await Assert.ThrowsAsync<IOException>(() => runner.RemoveRunAsync(result.RunId));
            Assert.NotNull(NewStore().TryLoad(result.RunId));
        }

        [Fact]
        public async Task DamagedRecordStaysVisibleAsDamagedIsRemovableAndTheRestOfTheStoreStillWorks()
        {
            using (var first = await NewRunner(new FakeRayBackend(), NewStore()))
                await first.RunSweepAsync(new object[] { Config(0), Config(1) }, new RunRequest { SweepId = "s4" }, Within());
            var store = NewStore();
            var victim = store.List()[0].RunId;
            var survivor = store.List()[1].RunId;
            File.WriteAllText(Path.Combine(store.RunFolder(victim), FileRunStore.RecordFileName), "{\"run_id\": \"" + victim + "\", \"spec\": {\"config\": [1,");

            using var runner = await NewRunner(new FakeRayBackend(), NewStore());
            var listed = runner.ListRuns();

            Assert.Equal(new[] { survivor, victim }.OrderBy(x => x), listed.Select(r => r.RunId).OrderBy(x => x));
            var shown = Assert.Single(listed, r => r.RunId == victim);
            Assert.Equal(RunStatus.Damaged, shown.Status);
            Assert.Contains("Remove-RayRun -Force", shown.Damage);
            Assert.Equal(RunStatus.Damaged, runner.GetRun(victim)!.Status);
            Assert.Equal(RunStatus.Damaged, await runner.GetStatusAsync(victim));
            Assert.Equal(RunStatus.Damaged, (await runner.RefreshAsync(victim))!.Status);
            Assert.Equal(RunStatus.Completed, await runner.GetStatusAsync(survivor));
            Assert.Contains(runner.StoreProblems, p => p.RunId == victim && p.Message.Contains("damaged"));
            // The store-only reader shows the same.
            Assert.Equal(RunStatus.Damaged, new RunStoreReader(NewStore()).GetStatus(victim));
            Assert.Contains(new RunStoreReader(NewStore()).ListRuns(), r => r.RunId == victim && r.Status == RunStatus.Damaged);

            Assert.True(await runner.RemoveRunAsync(victim));
            Assert.Equal(RunStatus.Unknown, await runner.GetStatusAsync(victim));
            Assert.Equal(new[] { survivor }, runner.ListRuns().Select(r => r.RunId));
            Assert.False(await runner.RemoveRunAsync(victim));
        }

        [Fact]
        public async Task RunFromAnotherBackendIsListedButNotFollowedWithAClearError()
        {
            NewStore().Save(StoreRecords.Queued("onray", "ray", Entrypoint, config: Config(0)).With(
                status: RunStatus.Running, clearOwner: true,
                submission: new SubmissionRecord { Backend = "ray", Locator = new Dictionary<string, string> { ["submission_id"] = "onray" }, SubmittedAt = DateTimeOffset.UtcNow }));
            using var runner = await NewRunner(new FakeRayBackend(), NewStore());

            Assert.Equal(RunStatus.Running, await runner.GetStatusAsync("onray"));
            Assert.Equal("ray", runner.GetRun("onray")!.Backend);
            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.GetResultAsync("onray"));
            Assert.Contains("ray backend", ex.Message);
        }

        static async Task WaitUntilAsync(Func<bool> condition)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                if (clock.Elapsed > Bound) throw new TimeoutException("condition not met within " + Bound);
                await Task.Delay(10);
            }
        }

        /// <summary>A live process that is not this one, to stand for "another RayRunner process".</summary>
        static SleeperProcess StartSleeper() => new SleeperProcess();

        sealed class SleeperProcess : IDisposable
        {
            readonly Process _process = Process.Start(new ProcessStartInfo("sleep", "300") { UseShellExecute = false })!;
            public int Id => _process.Id;
            public void Dispose()
            {
                try { _process.Kill(); _process.WaitForExit(); } catch (InvalidOperationException) { }
                _process.Dispose();
            }
        }
    }
}
