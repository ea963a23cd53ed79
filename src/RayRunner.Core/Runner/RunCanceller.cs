using System;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// tmgg's cancel, for runs this runner tracks and runs known only from the store: false for a
    /// run nobody knows or one already final; true, and the run untracked, once the backend accepted
    /// the cancel (a queued run is simply taken out of the queue, or recorded as cancelled); false
    /// (run still tracked) when the backend's cancel throws. Returns only once the final record is
    /// written, so a caller that removes the run next finds it finished.
    /// </summary>
    internal sealed class RunCanceller
    {
        readonly RunnerContext _ctx;
        readonly RunRecorder _recorder;
        readonly DispatchQueue _queue;
        readonly RunMonitor _monitor;

        public RunCanceller(RunnerContext ctx, RunRecorder recorder, DispatchQueue queue, RunMonitor monitor)
        {
            _ctx = ctx;
            _recorder = recorder;
            _queue = queue;
            _monitor = monitor;
        }

        public async Task<bool> CancelAsync(string? runId, CancellationToken cancellationToken)
        {
            if (runId == null) return false;
            var tracked = _ctx.Runs.TryGet(runId, out var run);
            if (!tracked || (run.IsFollower && run.Phase != RunPhase.Dispatched))
                return await CancelStoredAsync(runId, tracked ? run : null, cancellationToken).ConfigureAwait(false);

            if (_queue.TryRemoveQueued(run))
            {
                _monitor.Finish(run, TaskOutput.Failure(run.RunId, RunStatus.Cancelled, "The run was cancelled before it started."));
                _ctx.Runs.Remove(runId);
                return true;
            }

            // Being handed over right now: let that finish, then stop what the backend has.
            if (!await _ctx.AwaitAsync(run.DispatchEnded.Task, cancellationToken).ConfigureAwait(false) && run.IsFinished)
            {
                _ctx.Runs.Remove(runId);
                return true;
            }

            try
            {
                await _ctx.Backend.CancelAsync(run.Ref, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception)
            {
                return false;
            }

            _monitor.Finish(run, TaskOutput.Failure(run.RunId, RunStatus.Cancelled, "The run was cancelled."));
            run.StopWatching();
            // The run's monitor may have won the race to record the outcome (the backend's stop
            // ended the run first); either way, return only once the final record is written, so a
            // caller that removes the run next finds it finished and no late write brings it back.
            await _ctx.AwaitAsync(run.Outcome.Task, cancellationToken).ConfigureAwait(false);
            _ctx.Runs.Remove(runId);
            return true;
        }

        /// <summary>
        /// Cancels a run known from the store: a queued one is recorded as cancelled (its holder, on
        /// trying to claim it, finds it final and reports it); a submitted one is stopped through the
        /// backend, then recorded.
        /// </summary>
        async Task<bool> CancelStoredAsync(string runId, TrackedRun? follower, CancellationToken cancellationToken)
        {
            var backoff = new Backoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(200));
            while (true)
            {
                var record = RunIds.IsValid(runId) ? _ctx.Store.TryLoad(runId) : null;
                if (record == null || record.IsFinal) return false;

                RunRecord? cancelled;
                if (!record.IsSubmitted)
                {
                    cancelled = _recorder.TryCancelQueued(runId, out var busy);
                    if (cancelled == null)
                    {
                        // Being handed to the backend right now (a few milliseconds), or it changed: look again.
                        if (busy) await backoff.DelayAsync(cancellationToken).ConfigureAwait(false);
                        else backoff.Next();
                        continue;
                    }
                }
                else
                {
                    if (record.Submission!.Backend != _ctx.Backend.Name)
                        throw new InvalidOperationException(
                            $"Run '{runId}' runs on the {record.Submission.Backend} backend, but this runner uses the {_ctx.Backend.Name} backend. Connect to the {record.Submission.Backend} backend to stop it.");
                    try
                    {
                        await _ctx.Backend.CancelAsync(record.ToTaskRef(), cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (Exception)
                    {
                        return false; // tmgg: a cancel the backend refused is false
                    }
                    cancelled = _recorder.RecordEnded(record, TaskOutput.Failure(runId, RunStatus.Cancelled, "The run was cancelled."));
                }

                if (follower != null)
                {
                    follower.StopWatching();
                    follower.DispatchEnded.TrySetResult(false);
                    _monitor.Complete(follower, cancelled?.Result ?? TaskOutput.Failure(runId, RunStatus.Cancelled, "The run was cancelled."));
                    _ctx.Runs.Remove(runId);
                }
                return true;
            }
        }
    }
}
