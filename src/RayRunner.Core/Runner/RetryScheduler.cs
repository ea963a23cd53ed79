using System;
using System.Linq;

namespace RayRunner.Core
{
    /// <summary>
    /// Decides, when a run's attempt ends without success, whether another attempt follows (the
    /// run's <see cref="RetryPolicy"/>), records it in the store before anything is handed over
    /// (<see cref="RunRecorder.RecordRetry"/>), and puts the run back at the front of the dispatch
    /// queue, where it is handed over exactly once with the next attempt's submission id.
    /// </summary>
    internal sealed class RetryScheduler
    {
        readonly RunnerContext _ctx;
        readonly RunRecorder _recorder;
        readonly DispatchQueue _queue;
        readonly RunMonitor _monitor;

        public RetryScheduler(RunnerContext ctx, RunRecorder recorder, DispatchQueue queue, RunMonitor monitor)
        {
            _ctx = ctx;
            _recorder = recorder;
            _queue = queue;
            _monitor = monitor;
        }

        /// <summary>
        /// True when the run goes on: its next attempt is queued here, or another process moved it
        /// on and this runner follows it. False when <paramref name="output"/> is the run's end.
        /// </summary>
        public bool TryRetry(TrackedRun run, TaskOutput output, bool lost)
        {
            var attempt = run.Attempt;
            var reason = RetryPolicy.ReasonToRetryAfter(run.Retry, attempt, output, lost);
            if (reason == null || _ctx.IsDisposed) return false;
            var decision = _recorder.RecordRetry(run.RunId, attempt, output, run.DispatchedAt, reason, holdHere: true, out var next);
            if (decision == RetryDecision.OutcomeStands) return false;

            if (decision == RetryDecision.Retrying) run.BeginNextDispatch();
            Unsubmit(run);
            // The slot is freed before the run queues again: the slot flag belongs to one hand-over.
            _queue.ReleaseSlotOf(run);
            if (decision == RetryDecision.MovedOn)
            {
                run.IsFollower = true;
                _monitor.Attacher.Follow(run);
                return true;
            }
            run.SyncAttempts(next!);
            _ctx.Notify($"Run {run.RunId}: attempt {attempt} ended {Describe(reason, output)}; retrying as attempt {attempt + 1} of {run.Retry!.MaxRetries + 1} (submission id {RunIds.ForAttempt(run.RunId, attempt + 1)}).");
            // False only when a cancel finished the run meanwhile: that cancel recorded its end.
            if (!_queue.Requeue(run)) run.DispatchEnded.TrySetResult(false);
            return true;
        }

        /// <summary>Forgets the ended attempt's submission in this runner, so the next is dispatched afresh.</summary>
        void Unsubmit(TrackedRun run)
        {
            run.Ref = new TaskRef(_ctx.Backend.Name, run.RunId);
            run.DispatchedAt = null;
            run.LastPhase = RunStatus.Queued;
        }

        static string Describe(string reason, TaskOutput output)
        {
            var what = reason == RetryPolicy.OnLost ? "lost (the backend no longer knows it)" : reason;
            if (string.IsNullOrWhiteSpace(output.ErrorMessage)) return what;
            // One line for a verbose stream: the error's lines joined, long ones cut.
            var error = string.Join(" ", output.ErrorMessage!.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));
            return $"{what}: {(error.Length > 200 ? error.Substring(0, 200) + "..." : error)}";
        }
    }
}
