using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Tests.Unit.Fakes;
using Xunit;
using CoreRunner = RayRunner.Core.ExperimentRunner;

namespace RayRunner.Tests.Unit.Store
{
    /// <summary>
    /// Issue 17, item 4: MaxConcurrent is a runner's cap. A session resuming a sweep whose session
    /// ended counts the runs that session left running, so the sweep does not exceed the cap.
    /// </summary>
    public sealed class ResumeCapTests : IDisposable
    {
        const string Entrypoint = "python train.py {overrides}";
        static readonly TimeSpan Bound = TimeSpan.FromSeconds(60); // generous: the machine is shared and slow

        readonly TempFolder _temp = new TempFolder();
        public void Dispose() => _temp.Dispose();

        FileRunStore NewStore() => new FileRunStore(_temp.Sub("store"), LogRetention.Unlimited);

        static Task<CoreRunner> NewRunner(IRayBackend backend, IRunStore store, int maxConcurrent) =>
            CoreRunner.CreateAsync(backend, new RayRunnerOptions { MaxConcurrent = maxConcurrent, Store = store, Entrypoint = Entrypoint });

        static CancellationToken Within() => new CancellationTokenSource(Bound).Token;

        [Fact]
        public async Task ResumingASweepCountsTheRunsItsEndedSessionLeftRunning()
        {
            var cluster = new FakeRayBackend { AutoComplete = null };
            IReadOnlyList<RaySpawnedTask> spawned;
            using (var first = await NewRunner(cluster, NewStore(), maxConcurrent: 2))
            {
                var configs = Enumerable.Range(0, 4).Select(i => (object)new Dictionary<string, object?> { ["lr"] = 0.1 * (i + 1) });
                spawned = await first.SpawnSweepAsync(configs, new RunRequest { SweepId = "capped" }, Within());
                // Two reached the backend and run on; the session ends with the other two still queued.
                Assert.Equal(2, cluster.Submissions.Count);
            }
            var running = cluster.SubmittedRunIds;

            cluster.AutoComplete = spec => FakeRayBackend.CannedOutput(spec.RunId);
            using var second = await NewRunner(cluster, NewStore(), maxConcurrent: 2);
            var adopted = await second.ResumeQueuedAsync("capped", Within());
            Assert.Equal(spawned.Select(s => s.RunId).Except(running), adopted.Select(a => a.RunId));
            // The two left running fill the cap: nothing more may start until one of them ends.
            Assert.Equal(2, cluster.Submissions.Count);

            foreach (var id in running) cluster.Complete(id, FakeRayBackend.CannedOutput(id));
            var done = await second.WaitAsync(spawned.Select(s => s.RunId), cancellationToken: Within());

            Assert.Equal(4, done.Count);
            Assert.Equal(4, cluster.Submissions.Count);
            Assert.Empty(cluster.RepeatedSubmissions);
            Assert.True(cluster.MaxObservedRunning <= 2, $"{cluster.MaxObservedRunning} runs of the sweep ran at once; the cap is 2.");
        }
    }
}
