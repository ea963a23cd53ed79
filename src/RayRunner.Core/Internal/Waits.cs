using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// The one way Core awaits something it does not own (a run's outcome, a process's end) while
    /// honouring a cancellation token. The awaited task goes on; only the wait ends. Registrations are
    /// disposed on return, so a long-lived token (the runner's) gathers nothing.
    /// </summary>
    internal static class Waits
    {
        /// <summary>Awaits <paramref name="task"/>; throws OperationCanceledException when any of the tokens is cancelled first.</summary>
        public static async Task<T> WithCancellation<T>(Task<T> task, CancellationToken cancellationToken, CancellationToken also = default)
        {
            if (await EndsFirstAsync(task, cancellationToken, also).ConfigureAwait(false)) return await task.ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            also.ThrowIfCancellationRequested();
            throw new OperationCanceledException(); // unreachable: one of them was cancelled
        }

        /// <summary>
        /// True when <paramref name="task"/> ended (either way) before any token was cancelled or
        /// <paramref name="timeout"/> passed (null or infinite: no limit); false otherwise. Never throws.
        /// </summary>
        public static async Task<bool> EndsFirstAsync(Task task, CancellationToken cancellationToken, CancellationToken also = default, TimeSpan? timeout = null)
        {
            if (task.IsCompleted) return true;
            if (!cancellationToken.CanBeCanceled && !also.CanBeCanceled && (timeout == null || timeout == Timeout.InfiniteTimeSpan))
            {
                await task.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
                return true;
            }
            var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(() => stopped.TrySetResult(true)))
            using (also.Register(() => stopped.TrySetResult(true)))
            using (var timer = timeout.HasValue && timeout.Value != Timeout.InfiniteTimeSpan ? new CancellationTokenSource(Clamp(timeout.Value)) : null)
            using (timer?.Token.Register(() => stopped.TrySetResult(true)))
            {
                return await Task.WhenAny(task, stopped.Task).ConfigureAwait(false) == task;
            }
        }

        /// <summary>
        /// ray.wait's core: returns when at least <paramref name="wanted"/> of <paramref name="tasks"/>
        /// have ended, or when <paramref name="timeout"/> passes (null or infinite: no limit); throws
        /// OperationCanceledException when the token is cancelled first.
        /// </summary>
        /// <remarks>
        /// One snapshot of the unfinished tasks decides both "enough have ended" and what to wait
        /// for. Counting first and filtering after let a task that ended in between drop out of the
        /// wait while it was still counted as running, and the wait then hung on the others (a
        /// hang the soak loop caught in the local backend's Wait test, seen in CI).
        /// </remarks>
        public static async Task UntilEnoughEndAsync(IEnumerable<Task> tasks, int wanted, TimeSpan? timeout, CancellationToken cancellationToken)
        {
            var all = tasks.ToList();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var limit = timeout == Timeout.InfiniteTimeSpan ? null : timeout;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var pending = all.Where(t => !t.IsCompleted).ToList();
                if (all.Count - pending.Count >= wanted) return;
                var left = limit - clock.Elapsed;
                if (left <= TimeSpan.Zero) return;
                if (!await EndsFirstAsync(Task.WhenAny(pending), cancellationToken, timeout: left).ConfigureAwait(false))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    return;
                }
            }
        }

        static TimeSpan Clamp(TimeSpan timeout) => timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout;
    }

    /// <summary>
    /// A doubling pause between looks at something that changes rarely (a record in the store, a
    /// process of another session): short at first, so a quick change is seen quickly, capped so a
    /// long wait costs little. Not thread-safe; one per loop.
    /// </summary>
    internal struct Backoff
    {
        readonly TimeSpan _max;
        TimeSpan _next;

        public Backoff(TimeSpan first, TimeSpan max)
        {
            _next = first;
            _max = max;
        }

        /// <summary>The pause to take now; the one after is twice as long, up to the cap.</summary>
        public TimeSpan Next()
        {
            var now = _next;
            _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, _max.Ticks));
            return now;
        }

        /// <summary>Waits the next pause; throws OperationCanceledException when the token is cancelled.</summary>
        public Task DelayAsync(CancellationToken cancellationToken) => Task.Delay(Next(), cancellationToken);
    }
}
