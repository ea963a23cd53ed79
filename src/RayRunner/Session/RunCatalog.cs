using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using CoreRunner = RayRunner.Core.RayRunner;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Every run the session can see, through the Core runner's API only: the runs it tracks
    /// (live), then the runs its store remembers (finished, cancelled, collected — or, once the
    /// persistent store is in, from earlier sessions and other processes). A live run always wins
    /// over its record. Nothing here keeps state of its own, so swapping the in-memory store for the
    /// persistent one changes what is listed, not how.
    /// </summary>
    internal sealed class RunCatalog
    {
        readonly CoreRunner _runner;

        public RunCatalog(CoreRunner runner) => _runner = runner;

        public bool IsTracked(string runId) => _runner.IsTracked(runId);

        /// <summary>All runs, oldest first.</summary>
        public IReadOnlyList<RayRun> List()
        {
            var live = _runner.ListRuns();
            var seen = new HashSet<string>(live.Select(r => r.RunId), StringComparer.Ordinal);
            var runs = live.Select(s => RayRun.FromSnapshot(s)).ToList();
            foreach (var record in SafeStoreList())
                if (seen.Add(record.RunId)) runs.Add(RayRun.FromRecord(record));
            return runs.OrderBy(r => r.Submitted).ThenBy(r => r.RunId, StringComparer.Ordinal).ToList();
        }

        public IEnumerable<string> KnownRunIds() => List().Select(r => r.RunId);

        /// <summary>One run, or null when neither the runner nor its store knows it.</summary>
        public RayRun? Find(string runId)
        {
            var snapshot = _runner.GetRun(runId);
            if (snapshot != null) return RayRun.FromSnapshot(snapshot);
            var record = SafeLoad(runId);
            return record == null ? null : RayRun.FromRecord(record);
        }

        /// <summary>A live run with its status asked of the backend (a snapshot only knows the last phase seen).</summary>
        public async Task<RayRun?> FindFreshAsync(string runId, CancellationToken cancellationToken)
        {
            var snapshot = _runner.GetRun(runId);
            if (snapshot == null || RunStatus.IsTerminal(snapshot.Status) || snapshot.Status == RunStatus.Queued)
                return Find(runId);
            var status = await _runner.GetStatusAsync(runId, cancellationToken).ConfigureAwait(false);
            // Finished (or untracked) meanwhile: the newest view says more than the status alone.
            return RunStatus.IsTerminal(status) || status == RunStatus.Unknown
                ? Find(runId)
                : RayRun.FromSnapshot(snapshot, status);
        }

        /// <summary>tmgg's get_status, extended to runs the runner no longer tracks but its store remembers.</summary>
        public async Task<string> GetStatusAsync(string runId, CancellationToken cancellationToken)
        {
            var status = await _runner.GetStatusAsync(runId, cancellationToken).ConfigureAwait(false);
            if (status != RunStatus.Unknown) return status;
            var record = SafeLoad(runId);
            return record?.Result?.Status ?? record?.Status ?? RunStatus.Unknown;
        }

        /// <summary>The final result if the run has ended (live or recorded), else null.</summary>
        public ExperimentResult? TryGetResult(string runId)
        {
            if (_runner.IsTracked(runId)) return _runner.TryGetResult(runId);
            var record = SafeLoad(runId);
            if (record?.Result == null) return null;
            return ExperimentResult.FromTaskOutput(record.Result, record.RunId,
                record.Input?.Config ?? new Dictionary<string, object?>(), record.SweepId);
        }

        /// <summary>Waits for a run's result; a run known only from a record must already be final.</summary>
        public async Task<ExperimentResult> GetResultAsync(string runId, CancellationToken cancellationToken)
        {
            if (_runner.IsTracked(runId))
            {
                try
                {
                    return await _runner.GetResultAsync(runId, cancellationToken).ConfigureAwait(false);
                }
                catch (KeyNotFoundException)
                {
                    // Untracked while we looked (a cancel): its record holds the outcome.
                }
            }
            return TryGetResult(runId) ?? throw new KeyNotFoundException(NotFoundMessage(runId));
        }

        /// <summary>
        /// Waits until all (or any) of the runs are final or the timeout passes. Event-driven: each
        /// round awaits the runner's completion signal for the runs still open, never a sleep.
        /// </summary>
        /// <returns>The runs that are final, in the order given.</returns>
        public async Task<IReadOnlyList<string>> WaitAsync(IReadOnlyList<string> runIds, bool any, TimeSpan? timeout,
            CancellationToken cancellationToken)
        {
            var deadline = timeout.HasValue ? DateTime.UtcNow + timeout.Value : (DateTime?)null;
            var done = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                var open = new List<string>();
                foreach (var id in runIds)
                {
                    if (done.Contains(id)) continue;
                    if (IsFinal(id)) done.Add(id);
                    else open.Add(id);
                }
                if (open.Count == 0 || (any && done.Count > 0)) break;

                TimeSpan? remaining = null;
                if (deadline.HasValue)
                {
                    remaining = deadline.Value - DateTime.UtcNow;
                    if (remaining <= TimeSpan.Zero) break;
                }
                IReadOnlyList<string> finished;
                try
                {
                    finished = await _runner.WaitAsync(open, any: true, remaining, cancellationToken).ConfigureAwait(false);
                }
                catch (KeyNotFoundException)
                {
                    continue; // a run was untracked (cancelled elsewhere) meanwhile: look again
                }
                if (finished.Count == 0) break; // the timeout passed
                foreach (var id in finished) done.Add(id);
            }
            return runIds.Where(done.Contains).ToList();
        }

        /// <summary>Final, or no longer tracked with a final record; a run nobody knows counts as final too (the caller checked existence first).</summary>
        bool IsFinal(string runId)
        {
            var snapshot = _runner.GetRun(runId);
            if (snapshot != null) return RunStatus.IsTerminal(snapshot.Status);
            var record = SafeLoad(runId);
            return record == null || RunStatus.IsTerminal(record.Result?.Status ?? record.Status);
        }

        public Task<bool> CancelAsync(string runId, CancellationToken cancellationToken) => _runner.CancelAsync(runId, cancellationToken);

        public Task<string> GetLogAsync(string runId, int? tail, CancellationToken cancellationToken) =>
            _runner.GetLogAsync(runId, tail, cancellationToken);

        /// <summary>
        /// Forgets a finished run everywhere: the runner's table, the backend's record of it (a Ray
        /// job), and the store. The backend goes first, so a failure there leaves the run listed and
        /// the call can be repeated.
        /// </summary>
        public async Task RemoveAsync(string runId, CancellationToken cancellationToken)
        {
            var snapshot = _runner.GetRun(runId);
            var record = SafeLoad(runId);
            var taskRef = snapshot?.ObjectRef
                ?? (record != null ? new TaskRef(record.Backend, record.RunId, record.Locator) : null);
            if (taskRef != null && _runner.Backend is IRunRemover remover
                && string.Equals(taskRef.Backend, _runner.Backend.Name, StringComparison.Ordinal)
                && (snapshot != null || record?.Locator != null))
            {
                await remover.RemoveAsync(taskRef, cancellationToken).ConfigureAwait(false);
            }
            _runner.Forget(runId);
            _runner.Store.Delete(runId);
        }

        public void Forget(string runId) => _runner.Forget(runId);

        RunRecord? SafeLoad(string runId)
        {
            // A damaged record must not break a listing or a lookup; the store reports it itself.
            try { return _runner.Store.TryLoad(runId); }
            catch (Exception) { return null; }
        }

        IReadOnlyList<RunRecord> SafeStoreList()
        {
            try { return _runner.Store.List(); }
            catch (Exception) { return Array.Empty<RunRecord>(); }
        }

        public static string NotFoundMessage(string runId) =>
            $"No run with id '{runId}' is known in this session. Get-RayRun lists the runs that are.";
    }
}
