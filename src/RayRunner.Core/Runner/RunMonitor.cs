using System;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// Watches each dispatched run to its end: one task per run, no polling here. Enforces the run's
    /// timeout (stops it, reports <c>timeout</c>), and records and reports every outcome once.
    /// </summary>
    internal sealed class RunMonitor
    {
        /// <summary>How long stopping a timed-out run may take: the run's token is already spent, and a stop must not hang.</summary>
        static readonly TimeSpan StopBound = TimeSpan.FromSeconds(30);

        readonly RunnerContext _ctx;
        readonly RunRecorder _recorder;
        readonly DispatchQueue _queue;
        readonly RetryScheduler _retries;

        public RunMonitor(RunnerContext ctx, RunRecorder recorder, DispatchQueue queue)
        {
            _ctx = ctx;
            _recorder = recorder;
            _queue = queue;
            _retries = new RetryScheduler(ctx, recorder, queue, this);
        }

        /// <summary>Would this end of the run's current attempt be retried (so it is not the run's end)?</summary>
        public bool WouldRetry(TrackedRun run, TaskOutput output) => RetryPolicy.ReasonToRetryAfter(run.Retry, run.Attempt, output, lost: false) != null;

        /// <summary>Set once by the runner: who follows a run another process dispatched again.</summary>
        public RunAttacher Attacher { get; set; } = null!;

        /// <summary>Starts monitoring a run the store says was submitted (by this or another process).</summary>
        public void Begin(TrackedRun run, RunRecord record)
        {
            run.SyncAttempts(record);
            run.Ref = record.ToTaskRef();
            run.DispatchedAt = record.Submission!.SubmittedAt;
            run.LastPhase = RunStatus.IsTerminal(record.Status) || record.Status == RunStatus.Queued ? RunStatus.Pending : record.Status;
            run.MoveTo(RunPhase.Dispatched);
            run.DispatchEnded.TrySetResult(true);
            Watch(run);
        }

        /// <summary>Watches a run the backend has.</summary>
        public void Watch(TrackedRun run) => _ = MonitorAsync(run);

        async Task MonitorAsync(TrackedRun run)
        {
            TaskOutput output;
            var lost = false;
            var mayStillRun = false;
            var token = run.Watch.Token;
            try
            {
                var get = _ctx.Backend.GetAsync(run.Ref, token);
                var timeout = run.Spec.Input.TimeoutSeconds;
                if (timeout > 0)
                {
                    var remaining = TimeSpan.FromSeconds(timeout) - (DateTimeOffset.UtcNow - run.DispatchedAt!.Value);
                    var ended = await Waits.EndsFirstAsync(get, token, timeout: remaining < TimeSpan.Zero ? TimeSpan.Zero : remaining).ConfigureAwait(false);
                    token.ThrowIfCancellationRequested(); // a cancel, not a timeout
                    if (ended || get.IsCompleted) output = await get.ConfigureAwait(false);
                    else (output, mayStillRun) = await TimeOutAsync(run, timeout).ConfigureAwait(false);
                }
                else
                {
                    output = await get.ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Cancel has already recorded the outcome. Dispose only stops watching: the run goes
                // on in the backend and its record stays "submitted", so a later session re-attaches
                // to it. Recording "cancelled" here would be a lie that loses the result.
                if (_ctx.IsDisposed && !run.IsFinished) return;
                output = TaskOutput.Failure(run.RunId, RunStatus.Cancelled, "The run was cancelled.");
            }
            catch (Exception ex)
            {
                // tmgg: a result that cannot be fetched means the run failed; one the backend forgot is lost.
                lost = ex is RunLostException || ex.InnerException is RunLostException;
                output = TaskOutput.Failure(run.RunId, RunStatus.Failed, $"Fetching the result failed: {ex.Message}");
            }

            // A timed-out attempt that could not be stopped may still run: another would run beside it.
            if (!token.IsCancellationRequested && !mayStillRun && _retries.TryRetry(run, output, lost)) return;
            Complete(run, output);
        }

        /// <summary>Stops a run past its timeout; the output says so, and whether the run may still be running (the stop failed).</summary>
        async Task<(TaskOutput Output, bool MayStillRun)> TimeOutAsync(TrackedRun run, int timeoutSeconds)
        {
            var stopped = true;
            var message = $"The run exceeded its timeout of {timeoutSeconds} s and was stopped.";
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(_ctx.Lifetime);
            bound.CancelAfter(StopBound);
            try
            {
                await _ctx.Backend.CancelAsync(run.Ref, bound.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                message = $"The run exceeded its timeout of {timeoutSeconds} s; stopping it failed: {ex.Message}";
                stopped = false;
            }
            return (TaskOutput.Failure(run.RunId, RunStatus.Timeout, message), !stopped);
        }

        /// <summary>Frees the run's slot, then records and reports the outcome.</summary>
        /// <remarks>
        /// The slot is freed first because the run has ended: the next run is handed over while this
        /// outcome is recorded (a result is flushed to disk, about a millisecond and far more on a
        /// busy disk), instead of every slot idling through every flush. Nothing is lost if this
        /// process dies in between: the run's end stays with the backend (the local run's exit file,
        /// the Ray job) and the next process that looks records it.
        /// </remarks>
        public void Complete(TrackedRun run, TaskOutput output)
        {
            _queue.ReleaseSlotOf(run);
            Finish(run, output);
            run.MoveTo(RunPhase.Finished);
        }

        /// <summary>
        /// Records, then reports, a run's outcome. The first caller wins; later ones are ignored.
        /// Across processes the store decides (see <see cref="RunRecorder.RecordOutcome"/>).
        /// </summary>
        public void Finish(TrackedRun run, TaskOutput output)
        {
            if (!run.TryClaimFinish()) return;
            TaskOutput? reported = null;
            try
            {
                reported = _recorder.RecordOutcome(run, output);
            }
            finally
            {
                run.Outcome.TrySetResult(reported ?? RunRecorder.Finalize(output, run.RunId, run.DispatchedAt));
                run.Unlink();
            }
        }
    }
}
