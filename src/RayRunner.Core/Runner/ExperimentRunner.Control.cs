using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>The runner's status and control (status, cancel, shutdown, remove, logs) and its read view; construction, spawn and waits are in ExperimentRunner.cs.</summary>
    public sealed partial class ExperimentRunner
    {
        // ----------------------------------------------------------------------------------
        // Status and control
        // ----------------------------------------------------------------------------------

        public string GetStatus(string runId) => GetStatusAsync(runId).GetAwaiter().GetResult();

        /// <summary>tmgg's get_status (see <see cref="RunStatusReader"/>).</summary>
        public async Task<string> GetStatusAsync(string runId, CancellationToken cancellationToken = default)
        {
            using var call = _ctx.CallScope(cancellationToken);
            return await _status.GetStatusAsync(runId, call.Token).ConfigureAwait(false);
        }

        public bool Cancel(string runId) => CancelAsync(runId).GetAwaiter().GetResult();

        /// <summary>tmgg's cancel (see <see cref="RunCanceller"/>). The run's outcome becomes <c>cancelled</c>.</summary>
        public async Task<bool> CancelAsync(string runId, CancellationToken cancellationToken = default)
        {
            using var call = _ctx.CallScope(cancellationToken);
            return await _canceller.CancelAsync(runId, call.Token).ConfigureAwait(false);
        }

        /// <summary>Stops tracking a run (it stays in the store). Returns false when it was not tracked.</summary>
        public bool Forget(string runId) => runId != null && _ctx.Runs.Remove(runId);

        public void Shutdown() => ShutdownAsync().GetAwaiter().GetResult();

        /// <summary>tmgg's shutdown: shuts the backend down when it is initialized.</summary>
        public async Task ShutdownAsync(CancellationToken cancellationToken = default)
        {
            if (_ctx.Backend.IsInitialized)
                await _ctx.Backend.ShutdownAsync(cancellationToken).ConfigureAwait(false);
        }

        /// <summary>Why this runner cannot follow the run (unfinished, on another backend); null when it can.</summary>
        public string? WhyCannotFollow(string runId) => _attacher.WhyCannotFollow(runId);

        /// <summary>
        /// Deletes a finished run: its folder in the store and, where the backend keeps one (Ray),
        /// its job record. An unfinished run is refused: stop it or wait for it first. If the backend
        /// refuses the deletion, the store keeps the run (nothing half-removed). False when neither
        /// this runner nor the store knows the run.
        /// </summary>
        public async Task<bool> RemoveRunAsync(string runId, CancellationToken cancellationToken = default)
        {
            RunIds.Validate(runId, nameof(runId));
            if (_ctx.Runs.TryGet(runId, out var run) && !run.IsFinished)
                throw Unfinished(runId, LiveRunView.Snapshot(run).Status);
            var record = _ctx.Store.TryLoad(runId);
            if (record == null)
            {
                // A damaged record says nothing a backend could use: only its folder can go.
                var damaged = _ctx.Store.DamageOf(runId) != null && _ctx.Store.Delete(runId);
                return _ctx.Runs.Remove(runId) | damaged;
            }
            if (!record.IsFinal) throw Unfinished(runId, record.Status);

            if (_ctx.Backend.Abilities.KeepsRunRecords)
            {
                using var call = _ctx.CallScope(cancellationToken);
                // Every attempt is its own job on the backend: earlier attempts go too.
                foreach (var earlier in record.Attempts ?? Array.Empty<AttemptRecord>())
                    if (earlier.Submission?.Backend == _ctx.Backend.Name)
                        await _ctx.Backend.RemoveAsync(earlier.ToTaskRef(record.Spec.Backend), call.Token).ConfigureAwait(false);
                if (record.IsSubmitted && record.Submission!.Backend == _ctx.Backend.Name)
                    await _ctx.Backend.RemoveAsync(record.ToTaskRef(), call.Token).ConfigureAwait(false);
            }
            _recorder.Delete(runId);
            _ctx.Runs.Remove(runId);
            return true;
        }

        static InvalidOperationException Unfinished(string runId, string status) =>
            new InvalidOperationException(
                $"Run '{runId}' has not finished (it is {status}), so it cannot be removed. Stop it first (Stop-RayRun, CancelAsync) or wait for it to end, then remove it.");

        /// <summary>
        /// The log of one attempt of a run (1 for the first); the current attempt's is
        /// <see cref="GetLogAsync"/>. An attempt the run never had is an <see cref="ArgumentOutOfRangeException"/>.
        /// </summary>
        public Task<string> GetAttemptLogAsync(string runId, int attempt, int? tailLines = null, CancellationToken cancellationToken = default)
        {
            var record = _ctx.Store.TryLoad(runId) ?? throw RunnerContext.NotFound(runId);
            if (attempt == record.Attempt) return GetLogAsync(runId, tailLines, cancellationToken);
            var earlier = record.Attempts?.FirstOrDefault(a => a.Attempt == attempt)
                ?? throw new ArgumentOutOfRangeException(nameof(attempt), attempt, $"Run '{runId}' has no attempt {attempt}: it has had {record.Attempt} (1 to {record.Attempt}).");
            return _ctx.Backend.ReadLogAsync(earlier.ToTaskRef(record.Spec.Backend), tailLines, cancellationToken);
        }

        /// <summary>What the runner did on its own since the last call (a retried attempt and why), oldest first.</summary>
        public IReadOnlyList<string> TakeNotices() => _ctx.TakeNotices();

        /// <summary>The run's log from the backend, when the backend keeps one.</summary>
        public async Task<string> GetLogAsync(string runId, int? tailLines = null, CancellationToken cancellationToken = default)
        {
            var taskRef = _ctx.Runs.TryGet(runId, out var run) ? run.Ref : _ctx.Store.TryLoad(runId)?.ToTaskRef() ?? throw RunnerContext.NotFound(runId);
            using var call = _ctx.CallScope(cancellationToken);
            return await _ctx.Backend.ReadLogAsync(taskRef, tailLines, call.Token).ConfigureAwait(false);
        }

        // ----------------------------------------------------------------------------------
        // The read view (see LiveRunView)
        // ----------------------------------------------------------------------------------

        /// <summary>
        /// A point-in-time view of every run this runner tracks or its store records (earlier
        /// sessions, other processes), oldest first, without calling the backend.
        /// </summary>
        public IReadOnlyList<RunSnapshot> ListRuns() => _view.ListRuns();

        /// <summary>One run as tracked here, else as recorded in the store; null when neither knows it.</summary>
        public RunSnapshot? GetRun(string runId) => _view.GetRun(runId);

        /// <summary>The run with its status asked of the backend when it is tracked and still going.</summary>
        public async Task<RunSnapshot?> RefreshAsync(string runId, CancellationToken cancellationToken = default)
        {
            using var call = _ctx.CallScope(cancellationToken);
            return await _view.RefreshAsync(runId, call.Token).ConfigureAwait(false);
        }
    }
}
