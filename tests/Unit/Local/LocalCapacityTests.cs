using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Local;
using Xunit;

namespace RayRunner.Tests.Unit.Local
{
    /// <summary>
    /// What the local backend's slots promise a user, asserted where runs now wait: in the runner's
    /// queue (the only queue; the backend starts what it is given or refuses it). Moved here from
    /// LocalProcessBackendTests and SlotPoolTests when the backend's own FIFO was removed.
    /// </summary>
    public class LocalCapacityTests : IDisposable
    {
        readonly LocalTestBed _bed = new LocalTestBed();

        public void Dispose() => _bed.Dispose();

        async Task<Core.ExperimentRunner> Runner(LocalProcessBackend backend, int maxConcurrent, int cpusPerTask = 1, double gpusPerTask = 0)
        {
            var runner = await Core.ExperimentRunner.CreateAsync(backend, new RayRunnerOptions
            {
                MaxConcurrent = maxConcurrent,
                NumCpusPerTask = cpusPerTask,
                NumGpusPerTask = gpusPerTask,
                Entrypoint = "sh " + _bed.GateScript(),
            });
            return runner;
        }

        async Task<List<string>> SpawnGated(Core.ExperimentRunner runner, int runs)
        {
            var request = new RunRequest { Environment = _bed.GateEnvironment() };
            var ids = new List<string>();
            for (var i = 0; i < runs; i++)
                ids.Add((await runner.SpawnExperimentAsync(new Dictionary<string, object?> { ["i"] = i }, request)).RunId);
            return ids;
        }

        /// <summary>
        /// A run's process can write its start line before the runner has recorded the hand-over
        /// (the dispatching thread descheduled under load): wait for the runner's side too.
        /// </summary>
        static Task HandedOver(Core.ExperimentRunner runner, IEnumerable<string> ids) =>
            LocalTestBed.WaitUntil(() => ids.All(id => runner.GetRun(id)?.Status != RunStatus.Queued), "the started runs are handed over in the runner");

        /// <summary>
        /// Spawns gated runs, then releases them one at a time. Before every release it asks the OS
        /// which runs have a live process (whatever the runner believes) and checks that the others
        /// are reported queued. A run starts only when an earlier one has ended, so once the expected
        /// number have started the state is settled, with no timing involved.
        /// </summary>
        async Task AssertRunsAtMostAtOnce(LocalProcessBackend backend, Core.ExperimentRunner runner, int limit, int runs)
        {
            var ids = await SpawnGated(runner, runs);
            for (var released = 0; released < runs; released++)
            {
                var expectedLive = Math.Min(limit, runs - released);
                await LocalTestBed.WaitUntil(() => _bed.Started().Count == released + expectedLive, $"{released + expectedLive} runs have started");
                Assert.Equal(released + expectedLive, _bed.Started().Count);

                var live = LocalTestBed.LiveRunIds(ids);
                Assert.Equal(expectedLive, live.Count);
                // Started strictly in submission order.
                Assert.Equal(ids.Skip(released).Take(expectedLive).OrderBy(x => x), live.OrderBy(x => x));
                await HandedOver(runner, live);

                var statuses = new List<string>();
                foreach (var id in ids.Skip(released)) statuses.Add(await runner.GetStatusAsync(id));
                Assert.Equal(runs - released - expectedLive, statuses.Count(s => s == RunStatus.Queued));
                Assert.Equal(expectedLive, statuses.Count(s => s == RunStatus.Running));

                var oldest = ids[released];
                _bed.Open(oldest);
                Assert.Equal(RunStatus.Completed, (await runner.GetResultAsync(oldest)).Status);
            }
            Assert.True(_bed.MaxOverlapInEvents() <= limit);
            Assert.Equal(limit, backend.MaxObservedRunning);
        }

        [LinuxFact]
        public async Task Never_runs_more_than_max_concurrent_at_once()
        {
            var backend = _bed.Backend(maxConcurrent: 2);
            using var runner = await Runner(backend, maxConcurrent: 4);
            await AssertRunsAtMostAtOnce(backend, runner, limit: 2, runs: 5);
        }

        [LinuxFact]
        public async Task Cpu_slots_limit_runs_below_max_concurrent()
        {
            var backend = _bed.Backend(maxConcurrent: 10, numCpus: 4);
            using var runner = await Runner(backend, maxConcurrent: 10, cpusPerTask: 2);
            await AssertRunsAtMostAtOnce(backend, runner, limit: 2, runs: 4);
        }

        [UnixFact]
        public async Task Runs_of_one_backend_do_not_take_the_slots_of_another()
        {
            var first = _bed.Backend(maxConcurrent: 1);
            var second = _bed.Backend(maxConcurrent: 1);
            using var firstRunner = await Runner(first, maxConcurrent: 4);
            using var secondRunner = await Runner(second, maxConcurrent: 4);
            var held = await SpawnGated(firstRunner, 2);
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 1, "the first backend's run has started");
            await HandedOver(firstRunner, held.Take(1));

            // The first backend is full; the second has its own slot and runs at once.
            var other = (await SpawnGated(secondRunner, 1)).Single();
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 2, "the second backend's run has started");
            _bed.Open(other);
            Assert.Equal(RunStatus.Completed, (await secondRunner.GetResultAsync(other)).Status);

            Assert.Equal(RunStatus.Running, await firstRunner.GetStatusAsync(held[0]));
            Assert.Equal(RunStatus.Queued, await firstRunner.GetStatusAsync(held[1]));
            _bed.Open(held[0]);
            _bed.Open(held[1]);
            Assert.Equal(RunStatus.Completed, (await firstRunner.GetResultAsync(held[1])).Status);
        }

        [UnixFact]
        public async Task Queued_runs_start_in_submission_order()
        {
            var backend = _bed.Backend(maxConcurrent: 1);
            using var runner = await Runner(backend, maxConcurrent: 4);
            var ids = await SpawnGated(runner, 6);
            foreach (var id in ids)
            {
                _bed.Open(id);
                Assert.Equal(RunStatus.Completed, (await runner.GetResultAsync(id)).Status);
            }
            Assert.Equal(ids, _bed.Started());
        }

        [UnixFact]
        public async Task Cancelling_a_waiting_run_takes_it_out_of_the_queue()
        {
            var backend = _bed.Backend(maxConcurrent: 1);
            using var runner = await Runner(backend, maxConcurrent: 4);
            var ids = await SpawnGated(runner, 3);
            string running = ids[0], waiting = ids[1], after = ids[2];
            Assert.True(await runner.CancelAsync(waiting));
            Assert.Equal(RunStatus.Cancelled, await runner.GetStatusAsync(waiting));

            _bed.Open(running);
            await runner.GetResultAsync(running);
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 2, "the run behind the cancelled one has started");
            Assert.Equal(new[] { running, after }, _bed.Started());
            _bed.Open(after);
            Assert.Equal(RunStatus.Completed, (await runner.GetResultAsync(after)).Status);
        }

        [UnixFact]
        public async Task A_run_cancelled_elsewhere_while_waiting_for_a_slot_never_starts()
        {
            // Two sessions over one run store, each with its own local backend.
            var store = _bed.PathOf("store");
            using var owner = await Core.ExperimentRunner.CreateAsync(_bed.Backend(maxConcurrent: 1),
                new RayRunnerOptions { MaxConcurrent = 4, Entrypoint = "sh " + _bed.GateScript(), Store = new FileRunStore(store) });
            using var other = await Core.ExperimentRunner.CreateAsync(_bed.Backend(),
                new RayRunnerOptions { Entrypoint = "sh " + _bed.GateScript(), Store = new FileRunStore(store) });
            var ids = await SpawnGated(owner, 2);
            string first = ids[0], waiting = ids[1];
            Assert.Equal(RunStatus.Queued, await owner.GetStatusAsync(waiting));

            Assert.True(await other.CancelAsync(waiting));
            _bed.Open(first);
            await owner.GetResultAsync(first);
            Assert.Equal(RunStatus.Cancelled, (await owner.GetResultAsync(waiting)).Status);
            Assert.Equal(new[] { first }, _bed.Started());
        }

        [UnixFact]
        public async Task Gpu_runs_beyond_the_devices_wait_in_the_runner_and_get_a_freed_device()
        {
            var backend = _bed.Backend(environment: new Dictionary<string, string> { ["CUDA_VISIBLE_DEVICES"] = "3,5" });
            using var runner = await Runner(backend, maxConcurrent: 4, gpusPerTask: 1);
            Assert.Equal(2, runner.DispatchLimit);
            var ids = await SpawnGated(runner, 3);
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 2, "two GPU runs have started");
            Assert.Equal(RunStatus.Queued, await runner.GetStatusAsync(ids[2]));

            var devices = _bed.EventLines().Where(e => e[0] == "start").ToDictionary(e => e[1], e => e[2]);
            Assert.Equal(new[] { "3", "5" }, new[] { devices[ids[0]], devices[ids[1]] }.OrderBy(x => x));
            _bed.Open(ids[0]);
            await runner.GetResultAsync(ids[0]);
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 3, "the third GPU run has started");
            Assert.Equal(devices[ids[0]], _bed.EventLines().Single(e => e[0] == "start" && e[1] == ids[2])[2]);
            _bed.Open(ids[1]);
            _bed.Open(ids[2]);
            Assert.Equal(RunStatus.Completed, (await runner.GetResultAsync(ids[2])).Status);
        }
    }
}
