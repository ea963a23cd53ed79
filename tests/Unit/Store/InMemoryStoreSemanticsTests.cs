using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Tests.Unit.Fakes;
using Xunit;
using CoreRunner = RayRunner.Core.ExperimentRunner;

namespace RayRunner.Tests.Unit.Store
{
    /// <summary>The store-aware runner keeps tmgg's behaviour with the default in-memory store.</summary>
    public class InMemoryStoreSemanticsTests
    {
        static CancellationToken Within() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

        [Fact]
        public async Task UntrackedUnknownRunStaysUnknownAndCannotBeCancelled()
        {
            using var runner = await CoreRunner.CreateAsync(new FakeRayBackend(), new RayRunnerOptions { Entrypoint = "python t.py" });
            Assert.Equal(RunStatus.Unknown, await runner.GetStatusAsync("nonexistent"));
            Assert.False(await runner.CancelAsync("nonexistent"));
            await Assert.ThrowsAsync<System.Collections.Generic.KeyNotFoundException>(() => runner.GetResultAsync("nonexistent"));
        }

        [Fact]
        public async Task TimeoutIsStillEnforcedAndRecordedOnce()
        {
            var fake = new FakeRayBackend { AutoComplete = null };
            var store = new InMemoryRunStore();
            using var runner = await CoreRunner.CreateAsync(fake, new RayRunnerOptions { Entrypoint = "python t.py", Store = store });
            var spawned = await runner.SpawnExperimentAsync(new System.Collections.Generic.Dictionary<string, object?> { ["a"] = 1L }, new RunRequest { TimeoutSeconds = 1 });

            var result = await runner.GetResultAsync(spawned.RunId, Within());

            Assert.Equal(RunStatus.Timeout, result.Status);
            Assert.Single(fake.CancelCalls);
            Assert.Equal(RunStatus.Timeout, store.TryLoad(spawned.RunId)!.Status);
        }

        [Fact]
        public async Task CancelledQueuedRunNeverReachesTheBackend()
        {
            var fake = new FakeRayBackend { AutoComplete = null };
            using var runner = await CoreRunner.CreateAsync(fake, new RayRunnerOptions { Entrypoint = "python t.py", MaxConcurrent = 1 });
            var first = await runner.SpawnExperimentAsync(new System.Collections.Generic.Dictionary<string, object?> { ["a"] = 1L });
            var second = await runner.SpawnExperimentAsync(new System.Collections.Generic.Dictionary<string, object?> { ["a"] = 2L });

            Assert.Equal(RunStatus.Queued, await runner.GetStatusAsync(second.RunId));
            Assert.True(await runner.CancelAsync(second.RunId));
            Assert.False(runner.IsTracked(second.RunId));
            fake.Complete(first.RunId, FakeRayBackend.CannedOutput(first.RunId));
            await runner.GetResultAsync(first.RunId, Within());

            Assert.Equal(new[] { first.RunId }, fake.SubmittedRunIds);
            Assert.Equal(RunStatus.Cancelled, runner.GetRun(second.RunId)!.Status);
        }
    }
}
