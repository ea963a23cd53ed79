using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Tests.Unit.Fakes;
using RayRunner.Tests.Unit.Store;
using Xunit;

namespace RayRunner.Tests.Unit.Orchestration
{
    /// <summary>
    /// Issue 10's promises about the runner's inside: one composition that leaves nothing behind,
    /// one read view served alike by a runner and by a store alone, one checked phase transition,
    /// and one cancellation tree.
    /// </summary>
    public sealed class RunnerStructureTests : IDisposable
    {
        const string Entrypoint = "python train.py {overrides}";
        readonly TempFolder _temp = new TempFolder();
        public void Dispose() => _temp.Dispose();

        [Fact]
        public async Task The_composition_shuts_down_a_backend_it_built_when_the_runner_cannot_be_made()
        {
            // Initialized (as a backend that started a head would be), then found unusable.
            var fake = new FakeRayBackend { IsInitialized = true, IsAvailable = false };
            var setup = new RunnerSetup
            {
                StoreRoot = _temp.Sub("store"),
                BuildBackend = (settings, ct) => Task.FromResult<IRayBackend>(fake),
            };

            await Assert.ThrowsAsync<RayNotInstalledException>(() => RunnerHost.OpenAsync(setup, CancellationToken.None));

            Assert.Equal(1, fake.ShutdownCalls);
        }

        [Fact]
        public async Task The_composition_records_runs_in_the_store_it_was_given_and_points_local_logs_into_it()
        {
            var root = _temp.Sub("store");
            BackendSettings? seen = null;
            using var runner = await RunnerHost.OpenAsync(new RunnerSetup
            {
                StoreRoot = root,
                Entrypoint = Entrypoint,
                BuildBackend = (settings, ct) =>
                {
                    seen = settings;
                    return Task.FromResult<IRayBackend>(new FakeRayBackend());
                },
            }, CancellationToken.None);

            var result = await runner.RunExperimentAsync(new Dictionary<string, object?> { ["lr"] = 0.1 });

            Assert.Equal(RunStatus.Completed, new RunStoreReader(new FileRunStore(root)).GetStatus(result.RunId));
            Assert.StartsWith(System.IO.Path.GetFullPath(root), seen!.LogPathFor!("abcd1234"));
        }

        [Fact]
        public async Task A_runner_and_the_store_alone_show_a_run_of_another_session_alike()
        {
            var store = new FileRunStore(_temp.Sub("store"), LogRetention.Unlimited);
            string runId;
            using (var first = await ExperimentRunner.CreateAsync(new FakeRayBackend(), new RayRunnerOptions { Store = store, Entrypoint = Entrypoint }))
                runId = (await first.RunExperimentAsync(new Dictionary<string, object?> { ["lr"] = 0.1 })).RunId;

            using var second = await ExperimentRunner.CreateAsync(new FakeRayBackend(), new RayRunnerOptions { Store = store, Entrypoint = Entrypoint });
            IRunView live = second;
            IRunView stored = new RunStoreReader(store);

            var a = live.GetRun(runId)!;
            var b = stored.GetRun(runId)!;
            Assert.Equal((a.RunId, a.Status, a.SweepId, a.SubmittedAt, a.CompletedAt), (b.RunId, b.Status, b.SweepId, b.SubmittedAt, b.CompletedAt));
            Assert.Equal(await live.GetStatusAsync(runId, CancellationToken.None), await stored.GetStatusAsync(runId, CancellationToken.None));
            Assert.Equal(live.TryGetResult(runId)!.Metrics, stored.TryGetResult(runId)!.Metrics);
            Assert.False(stored.IsTracked(runId));
            Assert.Equal(RunStatus.Unknown, await stored.GetStatusAsync("nobody1", CancellationToken.None));
        }

        [Fact]
        public void A_finished_run_cannot_be_moved_back_to_any_other_phase()
        {
            var run = new TrackedRun(new TaskSpec(new TaskInput(new Dictionary<string, object?>(), "abcd1234"), EntrypointTemplate.Parse(Entrypoint)),
                new TaskOptions(), new Dictionary<string, object?>(), "fake", DateTimeOffset.UtcNow);
            run.MoveTo(RunPhase.Dispatching);
            run.MoveTo(RunPhase.Queued); // refused by a full backend: back in the queue
            run.MoveTo(RunPhase.Dispatching);
            run.MoveTo(RunPhase.Dispatched);
            run.MoveTo(RunPhase.Finished);
            run.MoveTo(RunPhase.Finished); // repeating the end is harmless

            foreach (var phase in new[] { RunPhase.Queued, RunPhase.Dispatching, RunPhase.Dispatched })
                Assert.Contains("cannot move from Finished", Assert.Throws<InvalidOperationException>(() => run.MoveTo(phase)).Message);
            Assert.Equal(RunPhase.Finished, run.Phase);
        }

        [Fact]
        public void A_run_being_handed_over_cannot_be_handed_over_twice()
        {
            var run = new TrackedRun(new TaskSpec(new TaskInput(new Dictionary<string, object?>(), "abcd1234"), EntrypointTemplate.Parse(Entrypoint)),
                new TaskOptions(), new Dictionary<string, object?>(), "fake", DateTimeOffset.UtcNow);
            run.MoveTo(RunPhase.Dispatching);
            Assert.Throws<InvalidOperationException>(() => run.MoveTo(RunPhase.Dispatching));
        }

        [Fact]
        public void Disposing_the_runner_stops_the_watch_of_every_run_it_made()
        {
            using var lifetime = new CancellationTokenSource();
            var run = new TrackedRun(new TaskSpec(new TaskInput(new Dictionary<string, object?>(), "abcd1234"), EntrypointTemplate.Parse(Entrypoint)),
                new TaskOptions(), new Dictionary<string, object?>(), "fake", DateTimeOffset.UtcNow);
            run.LinkTo(lifetime.Token);
            var finished = new TrackedRun(new TaskSpec(new TaskInput(new Dictionary<string, object?>(), "bcde2345"), EntrypointTemplate.Parse(Entrypoint)),
                new TaskOptions(), new Dictionary<string, object?>(), "fake", DateTimeOffset.UtcNow);
            finished.LinkTo(lifetime.Token);
            finished.Outcome.TrySetResult(TaskOutput.Failure("bcde2345", RunStatus.Failed, "done"));
            finished.Unlink(); // a finished run leaves the tree

            lifetime.Cancel();

            Assert.True(run.Watch.IsCancellationRequested);
            Assert.False(finished.Watch.IsCancellationRequested);
        }

        [Fact]
        public async Task A_resumed_sweep_says_per_config_what_it_did_so_callers_need_not_rebuild_the_plan()
        {
            var fake = new FakeRayBackend();
            using var runner = await ExperimentRunner.CreateAsync(fake, new RayRunnerOptions
            {
                Store = new FileRunStore(_temp.Sub("store"), LogRetention.Unlimited),
                Entrypoint = Entrypoint,
            });
            var a = new Dictionary<string, object?> { ["lr"] = 0.1 };
            var b = new Dictionary<string, object?> { ["lr"] = 0.2 };
            var first = await runner.SpawnSweepAsync(new object[] { a }, new RunRequest { SweepId = "s1" });
            await runner.WaitAsync(first.Select(s => s.RunId));
            Assert.Null(first[0].Resumed);

            fake.AutoComplete = null;
            var resumed = await runner.SpawnSweepAsync(new object[] { a, b }, new RunRequest { SweepId = "s1", Resume = true });
            Assert.Equal(new ResumeStep?[] { ResumeStep.Reused, ResumeStep.Started }, resumed.Select(s => s.Resumed));
            Assert.Equal(first[0].RunId, resumed[0].RunId);

            var again = await runner.SpawnSweepAsync(new object[] { a, b }, new RunRequest { SweepId = "s1", Resume = true });
            Assert.Equal(new ResumeStep?[] { ResumeStep.Reused, ResumeStep.Followed }, again.Select(s => s.Resumed));
            Assert.Equal(resumed[1].RunId, again[1].RunId);
        }
    }
}
