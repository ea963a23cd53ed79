using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Tests.Unit.Fakes;
using Xunit;
using CoreRunner = RayRunner.Core.ExperimentRunner;

// What RayRunner does that tmgg does not: queued dispatch, enforced timeouts, thread safety,
// all-or-nothing spawns, and the error paths tmgg leaves untested.
namespace RayRunner.Tests.Unit.Orchestration
{
    public class RunnerConstructionTests
    {
        [Fact]
        public void ConstructorRefusesUnavailableBackend()
        {
            var ray = new FakeRayBackend { IsAvailable = false };

            var ex = Assert.Throws<RayNotInstalledException>(() => new CoreRunner(ray, maxConcurrent: 2));

            Assert.StartsWith(RayNotInstalledException.MessagePrefix, ex.Message);
            Assert.Empty(ray.InitCalls);
        }

        [Theory]
        [InlineData(0, 0.0, 1)]
        [InlineData(2, -1.0, 1)]
        [InlineData(2, 0.0, -1)]
        public void ConstructorRejectsImpossibleLimits(int maxConcurrent, double gpus, int cpus)
        {
            var ray = new FakeRayBackend();

            Assert.Throws<ArgumentOutOfRangeException>(() => new CoreRunner(ray, maxConcurrent, gpus, cpus));
            Assert.Empty(ray.InitCalls);
        }

        [Fact]
        public async Task CreateAsyncInitializesLikeTheConstructor()
        {
            var ray = new FakeRayBackend();

            var runner = await CoreRunner.CreateAsync(ray, Samples.Options(maxConcurrent: 3));

            Assert.Equal(3.0, Assert.Single(ray.InitCalls).Resources[CoreRunner.ExperimentSlotResource]);
            Assert.True(runner.SupportsSpawn);
        }

        [Fact]
        public void GpuOptionIsSentOnlyWhenAskedFor()
        {
            var ray = new FakeRayBackend { IsInitialized = true };
            var runner = new CoreRunner(ray, new RayRunnerOptions { NumGpusPerTask = 0.5, NumCpusPerTask = 2, Entrypoint = Samples.Entrypoint });

            runner.SpawnExperiment(Samples.SpawnConfig());

            var options = Assert.Single(ray.Submissions).Options;
            Assert.Equal(0.5, options.NumGpus);
            Assert.Equal(2.0, options.NumCpus);
        }

        [Fact]
        public void ShutdownDoesNothingWhenNotInitialized()
        {
            var ray = new FakeRayBackend { IsInitialized = true };
            var runner = new CoreRunner(ray, Samples.Options());
            ray.IsInitialized = false;

            runner.Shutdown();

            Assert.Equal(0, ray.ShutdownCalls);
        }
    }

    public class RunnerSpawnContractTests
    {
        readonly FakeRayBackend _ray = new() { IsInitialized = true, AutoComplete = null };
        readonly CoreRunner _runner;

        public RunnerSpawnContractTests() => _runner = new CoreRunner(_ray, Samples.Options());

        [Fact]
        public void TaskInputCarriesConfigWithoutRunIdAndTheRunnersId()
        {
            var spawned = _runner.SpawnExperiment(Samples.SpawnConfig(), timeoutSeconds: 120);

            var input = Assert.Single(_ray.Submissions).Spec.Input;
            Assert.Equal(spawned.RunId, input.RunId);
            Assert.False(input.Config.ContainsKey("run_id"));
            Assert.Equal(120, input.TimeoutSeconds);
            var env = Assert.Single(_ray.Submissions).Spec.ContractEnvironment();
            Assert.Equal(spawned.RunId, env[TaskSpec.EnvRunId]);
            Assert.Contains("\"run_id\":\"" + spawned.RunId + "\"", env[TaskSpec.EnvTaskInput]);
        }

        [Fact]
        public void RejectedSubmissionLeavesNothingBehind()
        {
            _ray.SubmitThrows = new InvalidOperationException("cluster is down");

            var ex = Assert.Throws<InvalidOperationException>(() => _runner.SpawnExperiment(Samples.SpawnConfig()));

            Assert.Equal("cluster is down", ex.Message);
            Assert.Empty(_runner.ActiveRunIds);
            Assert.Empty(_runner.Store.List());
            // The slot it held is free again.
            _ray.SubmitThrows = null;
            var spawned = _runner.SpawnSweep(Enumerable.Range(0, 4).Select(i => (object)Samples.SweepConfig(i)).ToList());
            // The fake records every attempt: the rejected one, then the four of the sweep, each once.
            Assert.Equal(5, _ray.Submissions.Count);
            Assert.Equal(spawned.Select(s => s.RunId), _ray.SubmittedRunIds.Skip(1));
            Assert.All(spawned, s => Assert.Equal(RunStatus.Running, _runner.GetStatus(s.RunId)));
        }

        [Fact]
        public void BadConfigInASweepStartsNothing()
        {
            var configs = new List<object>
            {
                Samples.SweepConfig(0),
                new Dictionary<string, object?> { ["model"] = new Dictionary<string, object?> { ["opt"] = new object() } },
            };

            var ex = Assert.Throws<ConfigValidationException>(() => _runner.SpawnSweep(configs));

            Assert.Equal("model.opt", ex.KeyPath);
            Assert.Contains("Config #2", ex.Message);
            Assert.Contains("model.opt", ex.Message);
            Assert.Empty(_ray.Submissions);
            Assert.Empty(_runner.ActiveRunIds);
        }

        [Fact]
        public async Task UserRunIdIsValidatedSoItCannotEscapeItsFolder()
        {
            var ex = await Assert.ThrowsAsync<ArgumentException>(() =>
                _runner.SpawnExperimentAsync(Samples.SpawnConfig(), new RunRequest { RunId = "../../etc" }));

            Assert.Contains("not a valid run id", ex.Message);
            Assert.Empty(_ray.Submissions);
        }

        [Fact]
        public async Task UserRunIdIsUsedAndMayNotBeTrackedTwice()
        {
            var first = await _runner.SpawnExperimentAsync(Samples.SpawnConfig(), new RunRequest { RunId = "lr-0.01_seed1" });

            Assert.Equal("lr-0.01_seed1", first.RunId);
            await Assert.ThrowsAsync<ArgumentException>(() =>
                _runner.SpawnExperimentAsync(Samples.SpawnConfig(), new RunRequest { RunId = "lr-0.01_seed1" }));
            Assert.Single(_ray.Submissions);
        }

        [Fact]
        public void MissingEntrypointIsAClearError()
        {
            var runner = new CoreRunner(_ray, new RayRunnerOptions());

            var ex = Assert.Throws<ArgumentException>(() => runner.SpawnExperiment(Samples.SpawnConfig()));

            Assert.Contains("No entrypoint", ex.Message);
            Assert.Empty(_ray.Submissions);
        }
    }

    public class RunnerQueueTests
    {
        readonly FakeRayBackend _ray = new() { IsInitialized = true, AutoComplete = null };
        readonly CoreRunner _runner;

        public RunnerQueueTests() => _runner = new CoreRunner(_ray, Samples.Options(maxConcurrent: 2));

        IReadOnlyList<RaySpawnedTask> SpawnFive() =>
            _runner.SpawnSweep(Enumerable.Range(0, 5).Select(i => (object)Samples.SweepConfig(i)).ToList());

        [Fact]
        public void RunsBeyondMaxConcurrentAreHeldAsQueued()
        {
            var spawned = SpawnFive();

            Assert.Equal(spawned.Take(2).Select(s => s.RunId), _ray.SubmittedRunIds);
            Assert.Equal(new[] { "running", "running", "queued", "queued", "queued" }, spawned.Select(s => _runner.GetStatus(s.RunId)));
        }

        [Fact]
        public async Task QueuedRunsStartInSubmissionOrderAsSlotsFree()
        {
            var spawned = SpawnFive();

            _ray.Complete(spawned[1].RunId, new TaskOutput { Status = RunStatus.Completed });
            await WaitForSubmissions(3);
            _ray.Complete(spawned[0].RunId, new TaskOutput { Status = RunStatus.Failed, ErrorMessage = "nan loss" });
            await WaitForSubmissions(4);

            Assert.Equal(spawned.Take(4).Select(s => s.RunId), _ray.SubmittedRunIds);
            Assert.Equal(RunStatus.Queued, _runner.GetStatus(spawned[4].RunId));
            Assert.True(_ray.MaxObservedRunning <= 2);
        }

        [Fact]
        public async Task CancellingAQueuedRunNeverSubmitsIt()
        {
            var spawned = SpawnFive();

            Assert.True(await _runner.CancelAsync(spawned[2].RunId));
            _ray.Complete(spawned[0].RunId, new TaskOutput());
            await WaitForSubmissions(3);

            Assert.DoesNotContain(spawned[2].RunId, _ray.SubmittedRunIds);
            Assert.Equal(spawned[3].RunId, _ray.SubmittedRunIds[2]);
            Assert.Empty(_ray.CancelCalls); // nothing to stop on the backend
            Assert.Equal(RunStatus.Cancelled, _runner.Store.TryLoad(spawned[2].RunId)!.Status);
        }

        [Fact]
        public async Task AQueuedRunTheBackendRefusesLaterBecomesAFailedResult()
        {
            var spawned = SpawnFive();
            _ray.SubmitThrows = new InvalidOperationException("quota exceeded");

            _ray.Complete(spawned[0].RunId, new TaskOutput());
            var result = await _runner.GetResultAsync(spawned[2].RunId).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(RunStatus.Failed, result.Status);
            Assert.Contains("quota exceeded", result.ErrorMessage);
        }

        [Fact]
        public async Task ABackendWithLessRoomThanMaxConcurrentGetsOnlyWhatFits()
        {
            var ray = new FakeRayBackend { IsInitialized = true, AutoComplete = null, Capacity = 1 };
            var runner = new CoreRunner(ray, Samples.Options(maxConcurrent: 4));

            var spawned = runner.SpawnSweep(Enumerable.Range(0, 3).Select(i => (object)Samples.SweepConfig(i)).ToList());

            Assert.Equal(1, runner.DispatchLimit);
            Assert.Equal(new[] { spawned[0].RunId }, ray.SubmittedRunIds);
            Assert.Equal(RunStatus.Queued, runner.GetStatus(spawned[1].RunId));
            ray.Complete(spawned[0].RunId, new TaskOutput());
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (ray.Submissions.Count < 2 && DateTime.UtcNow < deadline) await Task.Delay(5);
            Assert.Equal(spawned.Take(2).Select(s => s.RunId), ray.SubmittedRunIds);
        }

        /// <summary>
        /// Moved from SlotPoolTests (A_run_that_does_not_fit_yet_holds_back_smaller_runs_behind_it):
        /// the runner's queue is the only queue, so a run the backend refuses as full waits at its
        /// front, queued, and the runs behind it never overtake it.
        /// </summary>
        [Fact]
        public async Task ARunTheBackendRefusesAsFullWaitsAtTheFrontAndIsNotOvertaken()
        {
            var ray = new FakeRayBackend { IsInitialized = true, AutoComplete = null };
            using var runner = new CoreRunner(ray, Samples.Options(maxConcurrent: 1));
            var first = runner.SpawnExperiment(Samples.SweepConfig(0));
            var refused = runner.SpawnExperiment(Samples.SweepConfig(1));
            var behind = runner.SpawnExperiment(Samples.SweepConfig(2));

            // The slot frees, but the backend is still full (say, a stopped run still ending).
            ray.SubmitThrows = new BackendFullException(refused.RunId, "no free slot now");
            ray.Complete(first.RunId, new TaskOutput());
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!ray.SubmittedRunIds.Contains(refused.RunId) && DateTime.UtcNow < deadline) await Task.Delay(5);
            Assert.Equal(RunStatus.Queued, runner.GetStatus(refused.RunId)); // not failed: back in the queue
            Assert.Equal(RunStatus.Queued, runner.GetStatus(behind.RunId));

            ray.SubmitThrows = null;
            while (!ray.SubmittedRunIds.Contains(behind.RunId) && DateTime.UtcNow < deadline)
            {
                if (runner.GetStatus(refused.RunId) == RunStatus.Running) ray.Complete(refused.RunId, new TaskOutput());
                await Task.Delay(5);
            }
            var order = ray.SubmittedRunIds.Where(id => id != first.RunId).ToList();
            Assert.Contains(behind.RunId, order);
            Assert.True(order.Count(id => id == refused.RunId) >= 2, "the refused run was handed over again, and accepted");
            Assert.True(order.IndexOf(behind.RunId) > order.LastIndexOf(refused.RunId), $"the run behind waited for the refused one: {string.Join(", ", order)}");
            Assert.Equal(RunStatus.Completed, (await runner.GetResultAsync(refused.RunId)).Status);
        }

        async Task WaitForSubmissions(int count)
        {
            // Dispatch after a completion happens on the monitor's thread: wait for it, boundedly.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (_ray.Submissions.Count < count && DateTime.UtcNow < deadline) await Task.Delay(5);
            Assert.True(_ray.Submissions.Count >= count, $"expected {count} submissions, saw {_ray.Submissions.Count}");
        }
    }

    public class RunnerStatusAndCancelTests
    {
        readonly FakeRayBackend _ray = new() { IsInitialized = true, AutoComplete = null };
        readonly CoreRunner _runner;

        public RunnerStatusAndCancelTests() => _runner = new CoreRunner(_ray, Samples.Options());

        /// <summary>
        /// A status read that sees a run end records that end at once, however it ended (issue 10:
        /// only completed ends used to be), so a listing right after the answer agrees with it. The
        /// run's monitor is held back, so only the status read can have written the record.
        /// </summary>
        [Theory]
        [InlineData(RunStatus.Failed)]
        [InlineData(RunStatus.Cancelled)]
        [InlineData(RunStatus.Completed)]
        public async Task AStatusReadThatSeesARunEndRecordsEveryKindOfEndAtOnce(string status)
        {
            var monitorHeld = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var gets = 0;
            _ray.BeforeGet = _ => Interlocked.Increment(ref gets) == 1 ? monitorHeld.Task : Task.CompletedTask;
            var spawned = _runner.SpawnExperiment(Samples.SpawnConfig());
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Volatile.Read(ref gets) < 1 && DateTime.UtcNow < deadline) await Task.Delay(5);
            Assert.Equal(1, Volatile.Read(ref gets)); // the monitor is waiting, held

            _ray.Complete(spawned.RunId, status == RunStatus.Completed ? new TaskOutput { Status = status } : TaskOutput.Failure(spawned.RunId, status, "it ended so"));
            Assert.Equal(status, await _runner.GetStatusAsync(spawned.RunId));

            var record = _runner.Store.TryLoad(spawned.RunId)!;
            Assert.True(record.IsFinal, "the end was recorded by the status read, not left to the monitor");
            Assert.Equal(status, record.Result!.Status);
            monitorHeld.SetResult(true);
        }

        [Fact]
        public void GetStatusReportsPendingWhenTheBackendSaysSo()
        {
            _ray.NotReadyPhase = RunStatus.Pending;
            var spawned = _runner.SpawnExperiment(Samples.SpawnConfig());

            Assert.Equal(RunStatus.Pending, _runner.GetStatus(spawned.RunId));
        }

        [Fact]
        public async Task GetStatusFailedWhenFetchingTheResultThrows()
        {
            var spawned = _runner.SpawnExperiment(Samples.SpawnConfig());

            _ray.Fail(spawned.RunId, new InvalidOperationException("worker died"));

            Assert.Equal(RunStatus.Failed, _runner.GetStatus(spawned.RunId));
            var result = await _runner.GetResultAsync(spawned.RunId).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(RunStatus.Failed, result.Status);
            Assert.Contains("worker died", result.ErrorMessage);
        }

        [Fact]
        public void CancelReturnsFalseAndKeepsTrackingWhenTheBackendCancelThrows()
        {
            var spawned = _runner.SpawnExperiment(Samples.SpawnConfig());
            _ray.CancelThrows = new InvalidOperationException("dashboard unreachable");

            Assert.False(_runner.Cancel(spawned.RunId));
            Assert.True(_runner.IsTracked(spawned.RunId));
            Assert.Equal(RunStatus.Running, _runner.GetStatus(spawned.RunId));
        }

        [Fact]
        public async Task CancelEndsABlockedWaiterWithCancelled()
        {
            var spawned = _runner.SpawnExperiment(Samples.SpawnConfig());
            var waiting = _runner.GetResultAsync(spawned.RunId);

            Assert.True(await _runner.CancelAsync(spawned.RunId));

            var result = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(RunStatus.Cancelled, result.Status);
            Assert.Single(_ray.CancelCalls);
        }

        [Fact]
        public async Task CancelReturnsOnlyOnceTheFinalRecordIsWritten()
        {
            // The backend's stop ends the run and answers late, so the run's monitor records the
            // outcome first, and the store is slow: a caller that removes the run right after the
            // cancel must still find it finished.
            var ray = new FakeRayBackend { IsInitialized = true, AutoComplete = null, CancelReturnsAfter = TimeSpan.FromMilliseconds(50) };
            var store = new SlowFinalStore(TimeSpan.FromMilliseconds(300));
            var runner = new CoreRunner(ray, new RayRunnerOptions { Entrypoint = Samples.Entrypoint, Store = store });
            var spawned = runner.SpawnExperiment(Samples.SpawnConfig());

            Assert.True(await runner.CancelAsync(spawned.RunId));

            Assert.Equal(RunStatus.Cancelled, store.TryLoad(spawned.RunId)!.Status);
            Assert.True(await runner.RemoveRunAsync(spawned.RunId));
            Assert.Null(store.TryLoad(spawned.RunId));
        }

        /// <summary>An in-memory store that takes its time over final records.</summary>
        sealed class SlowFinalStore : DelegatingRunStore
        {
            readonly TimeSpan _delay;
            public SlowFinalStore(TimeSpan delay) : base(new InMemoryRunStore()) => _delay = delay;
            public override RunRecord Save(RunRecord record)
            {
                if (record.IsFinal) Thread.Sleep(_delay);
                return Inner.Save(record);
            }
        }

        [Fact]
        public async Task TimeoutIsEnforcedAndReportedAsTimeout()
        {
            var spawned = await _runner.SpawnExperimentAsync(Samples.SpawnConfig(), new RunRequest { TimeoutSeconds = 1 });

            var result = await _runner.GetResultAsync(spawned.RunId).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(RunStatus.Timeout, result.Status);
            Assert.Contains("timeout of 1 s", result.ErrorMessage);
            Assert.Equal(spawned.RunId, Assert.Single(_ray.CancelCalls).RunId);
            Assert.Equal(RunStatus.Timeout, _runner.GetStatus(spawned.RunId));
            Assert.Equal(RunStatus.Timeout, _runner.Store.TryLoad(spawned.RunId)!.Status);
        }

        [Fact]
        public async Task ARunThatFinishesInTimeIsNotStopped()
        {
            var spawned = await _runner.SpawnExperimentAsync(Samples.SpawnConfig(), new RunRequest { TimeoutSeconds = 60 });

            _ray.Complete(spawned.RunId, new TaskOutput { Status = RunStatus.Completed });
            var result = await _runner.GetResultAsync(spawned.RunId).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(RunStatus.Completed, result.Status);
            Assert.Empty(_ray.CancelCalls);
        }

        [Fact]
        public async Task ResultIsRecordedBeforeItIsReported()
        {
            var spawned = _runner.SpawnExperiment(Samples.SpawnConfig());

            _ray.Complete(spawned.RunId, new TaskOutput { Status = RunStatus.Completed, Metrics = new Dictionary<string, double> { ["loss"] = 0.25 } });
            await _runner.GetResultAsync(spawned.RunId).WaitAsync(TimeSpan.FromSeconds(30));

            var record = _runner.Store.TryLoad(spawned.RunId)!;
            Assert.Equal(RunStatus.Completed, record.Status);
            Assert.Equal(0.25, record.Result!.Metrics["loss"]);
        }

        [Fact]
        public async Task WaitAnyReturnsAsSoonAsOneRunEnds()
        {
            var spawned = _runner.SpawnSweep(Enumerable.Range(0, 3).Select(i => (object)Samples.SweepConfig(i)).ToList());
            var ids = spawned.Select(s => s.RunId).ToList();

            var none = await _runner.WaitAsync(ids, any: true, timeout: TimeSpan.Zero);
            _ray.Complete(ids[1], new TaskOutput());
            var one = await _runner.WaitAsync(ids, any: true, timeout: TimeSpan.FromSeconds(30));

            Assert.Empty(none);
            Assert.Equal(new[] { ids[1] }, one);
        }

        [Fact]
        public async Task WaitHonoursCancellation()
        {
            var spawned = _runner.SpawnExperiment(Samples.SpawnConfig());
            using var cts = new CancellationTokenSource();

            var waiting = _runner.WaitAsync(new[] { spawned.RunId }, cancellationToken: cts.Token);
            cts.Cancel();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30)));
        }
    }

    public class RunnerConcurrencyTests
    {
        [Fact]
        public async Task ManyThreadsSpawningAndCancellingNeverExceedTheLimitOrLoseARun()
        {
            var ray = new FakeRayBackend { IsInitialized = true, AutoComplete = null };
            var runner = new CoreRunner(ray, Samples.Options(maxConcurrent: 3));
            const int threads = 8, perThread = 25;

            var spawnedPerThread = await Task.WhenAll(Enumerable.Range(0, threads).Select(t => Task.Run(async () =>
            {
                var ids = new List<string>();
                for (var i = 0; i < perThread; i++)
                {
                    var s = await runner.SpawnExperimentAsync(Samples.SweepConfig(i));
                    ids.Add(s.RunId);
                    if (i % 5 == 0) await runner.CancelAsync(s.RunId);
                }
                return ids;
            })));
            var all = spawnedPerThread.SelectMany(x => x).ToList();
            Assert.Equal(threads * perThread, all.Distinct().Count());
            var cancelled = spawnedPerThread.SelectMany(ids => ids.Where((_, i) => i % 5 == 0)).ToHashSet();

            // Finish whatever reaches the backend, until every run has an outcome.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline && all.Any(id => runner.IsTracked(id) && runner.TryGetResult(id) == null))
            {
                foreach (var id in ray.SubmittedRunIds.Where(id => !ray.IsDone(id)))
                    ray.Complete(id, new TaskOutput { RunId = id, Status = RunStatus.Completed });
                await Task.Delay(5);
            }

            // The cap is reached (the runs really ran side by side) and never passed.
            Assert.Equal(3, ray.MaxObservedRunning);
            // Every submit attempt is recorded, repeats included: each run reached the backend at most once.
            Assert.Empty(ray.RepeatedSubmissions);
            // Every run has its own final status: a cancelled one is cancelled, every other one completed
            // (a run dispatched twice, or lost, would end failed or stay open).
            foreach (var id in all)
            {
                var status = runner.Store.TryLoad(id)?.Status;
                Assert.True(status == (cancelled.Contains(id) ? RunStatus.Cancelled : RunStatus.Completed), $"{id}: {status}");
                if (!cancelled.Contains(id)) Assert.Equal(1, ray.SubmitAttempts(id));
            }
        }
    }
}
