using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using Xunit;

namespace RayRunner.Tests.Unit.Internal
{
    /// <summary>ray.wait's core (Waits.UntilEnoughEndAsync), shared by both backends.</summary>
    public class WaitsTests
    {
        static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

        [Fact]
        public async Task Returns_as_soon_as_enough_tasks_have_ended()
        {
            var a = new TaskCompletionSource<int>();
            var b = new TaskCompletionSource<int>();
            var waiting = Waits.UntilEnoughEndAsync(new Task[] { a.Task, b.Task }, 1, null, CancellationToken.None);
            Assert.False(waiting.IsCompleted);
            b.SetResult(1);
            Assert.Same(waiting, await Task.WhenAny(waiting, Task.Delay(Bound)));
            Assert.False(a.Task.IsCompleted);
        }

        [Fact]
        public async Task Returns_at_once_when_enough_have_already_ended_or_none_are_wanted()
        {
            var never = new TaskCompletionSource<int>().Task;
            await Waits.UntilEnoughEndAsync(new Task[] { Task.CompletedTask, never }, 1, null, CancellationToken.None).WaitAsync(Bound);
            await Waits.UntilEnoughEndAsync(new Task[] { never }, 0, null, CancellationToken.None).WaitAsync(Bound);
            await Waits.UntilEnoughEndAsync(Array.Empty<Task>(), 0, null, CancellationToken.None).WaitAsync(Bound);
        }

        [Fact]
        public async Task Returns_when_the_timeout_passes_and_throws_when_cancelled()
        {
            var never = new TaskCompletionSource<int>().Task;
            var clock = Stopwatch.StartNew();
            await Waits.UntilEnoughEndAsync(new Task[] { never }, 1, TimeSpan.FromMilliseconds(50), CancellationToken.None).WaitAsync(Bound);
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(45), $"returned after {clock.Elapsed}");

            using var cts = new CancellationTokenSource();
            var waiting = Waits.UntilEnoughEndAsync(new Task[] { never }, 1, null, cts.Token);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Bound));
        }
    }
}
