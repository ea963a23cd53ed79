using System;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// tmgg's get_status, for runs this runner tracks and runs known only from the store:
    /// <c>unknown</c> for an id nobody knows; <c>queued</c> before hand-over; the backend's phase
    /// (<c>pending</c>/<c>running</c>) while not ready; the result's own status when ready;
    /// <c>failed</c> when fetching the result throws. A stored run seen to end is recorded.
    /// </summary>
    internal sealed class RunStatusReader
    {
        readonly RunnerContext _ctx;
        readonly RunRecorder _recorder;
        readonly RunMonitor _monitor;

        public RunStatusReader(RunnerContext ctx, RunRecorder recorder, RunMonitor monitor)
        {
            _ctx = ctx;
            _recorder = recorder;
            _monitor = monitor;
        }

        public async Task<string> GetStatusAsync(string? runId, CancellationToken cancellationToken)
        {
            if (runId == null) return RunStatus.Unknown;
            if (!_ctx.Runs.TryGet(runId, out var run)) return await GetStoredStatusAsync(runId, cancellationToken).ConfigureAwait(false);
            if (run.IsFinished) return run.Outcome.Task.Result.Status;
            var phase = run.Phase;
            if (phase == RunPhase.Queued || phase == RunPhase.Dispatching) return RunStatus.Queued;

            var (status, ready, output) = await AskBackendAsync(run.Ref, cancellationToken).ConfigureAwait(false);
            if (!ready) run.LastPhase = status;
            // Seen it end, however it ended: report and record that end now, as the monitor would a
            // moment later, so a listing right after this answer agrees with it. An attempt that will
            // be retried is not the run's end: the monitor records the retry.
            else if (output != null && !_monitor.WouldRetry(run, output))
                _monitor.Complete(run, output);
            return status;
        }

        /// <summary>get_status for a run known only to the store: the recorded result, else the backend's answer through the recorded locator.</summary>
        async Task<string> GetStoredStatusAsync(string runId, CancellationToken cancellationToken)
        {
            var record = RunIds.IsValid(runId) ? _ctx.Store.TryLoad(runId) : null;
            if (record == null) return RunStoreReader.Damaged(_ctx.Store, runId) != null ? RunStatus.Damaged : RunStatus.Unknown;
            if (record.IsFinal) return RunStatus.Normalize(record.Result!.Status) ?? record.Status;
            if (!record.IsSubmitted) return RunStatus.Queued;
            if (record.Submission!.Backend != _ctx.Backend.Name) return record.Status;

            var (status, _, output) = await AskBackendAsync(record.ToTaskRef(), cancellationToken).ConfigureAwait(false);
            if (output == null) return status;
            if (RetryPolicy.ReasonToRetryAfter(record.Spec.Retry, record.Attempt, output, lost: false) is { } reason)
            {
                // The attempt ended and another follows: record that (the next attempt queued, held by
                // nobody), so Resume-RaySweep or Wait-RayRun in any session hands it over.
                var decision = _recorder.RecordRetry(runId, record.Attempt, output, record.Submission?.SubmittedAt, reason, holdHere: false, out _);
                if (decision != RetryDecision.OutcomeStands) return RunStatus.Queued;
            }
            // Seen it end: record it, so the result is never lost and never fetched twice.
            var stored = _recorder.RecordEnded(record, output);
            return RunStatus.Normalize(stored?.Result?.Status) ?? RunStatus.Normalize(output.Status) ?? RunStatus.Completed;
        }

        /// <summary>The backend's phase of a run, or its final status with the output when it has ended (no output when fetching it failed).</summary>
        async Task<(string Status, bool Ready, TaskOutput? Output)> AskBackendAsync(TaskRef taskRef, CancellationToken cancellationToken)
        {
            var wait = await _ctx.Backend.WaitAsync(new[] { taskRef }, 1, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            if (wait.Ready.Count == 0) return (wait.PhaseOf(taskRef), false, null);
            try
            {
                var output = await _ctx.Backend.GetAsync(taskRef, cancellationToken).ConfigureAwait(false);
                return (RunStatus.Normalize(output.Status) ?? RunStatus.Completed, true, output);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception)
            {
                return (RunStatus.Failed, true, null);
            }
        }
    }
}
