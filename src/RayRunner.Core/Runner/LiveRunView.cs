using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// The runner's side of <see cref="IRunView"/>: the runs it tracks as they stand now, then the
    /// runs its store records (earlier sessions, other processes) as <see cref="RunStoreReader"/>
    /// would show them. Never calls the backend except in <see cref="RefreshAsync"/>.
    /// </summary>
    internal sealed class LiveRunView
    {
        readonly RunnerContext _ctx;
        readonly RunStatusReader _status;

        public LiveRunView(RunnerContext ctx, RunStatusReader status)
        {
            _ctx = ctx;
            _status = status;
        }

        public IReadOnlyList<RunSnapshot> ListRuns()
        {
            var tracked = _ctx.Runs.All;
            var snapshots = tracked.Select(Snapshot).ToList();
            var seen = new HashSet<string>(tracked.Select(r => r.RunId), StringComparer.Ordinal);
            var listing = _ctx.Store.ListAll();
            foreach (var summary in listing.Summaries)
                if (seen.Add(summary.RunId)) snapshots.Add(RunSnapshot.FromSummary(summary, listing.Load));
            foreach (var damaged in RunStoreReader.DamagedRuns(listing.Damaged))
                if (seen.Add(damaged.RunId)) snapshots.Add(damaged);
            snapshots.Sort(RunSnapshot.Compare);
            return snapshots;
        }

        public RunSnapshot? GetRun(string? runId)
        {
            if (runId == null) return null;
            if (_ctx.Runs.TryGet(runId, out var run)) return Snapshot(run);
            var record = _ctx.Store.TryLoad(runId);
            return record != null ? RunSnapshot.FromRecord(record) : RunStoreReader.Damaged(_ctx.Store, runId);
        }

        public ExperimentResult? TryGetResult(string? runId)
        {
            if (_ctx.Runs.TryGet(runId, out var run))
                return run.IsFinished ? ExperimentResult.FromTaskOutput(run.Outcome.Task.Result, run.RunId, run.Config, run.SweepId) : null;
            var record = runId == null ? null : _ctx.Store.TryLoad(runId);
            return record?.Result == null ? null : ExperimentResult.FromTaskOutput(record.Result, record.RunId, record.Spec.Config, record.SweepId);
        }

        /// <summary>The run with its status asked of the backend when it is still going (a snapshot only knows the last phase seen).</summary>
        public async Task<RunSnapshot?> RefreshAsync(string runId, CancellationToken cancellationToken)
        {
            var snapshot = GetRun(runId);
            if (snapshot == null || RunStatus.IsTerminal(snapshot.Status) || snapshot.Status == RunStatus.Queued || snapshot.Status == RunStatus.Damaged)
                return snapshot;
            var status = await _status.GetStatusAsync(runId, cancellationToken).ConfigureAwait(false);
            if (status == RunStatus.Unknown) return GetRun(runId);
            if (!RunStatus.IsTerminal(status)) return snapshot.WithStatus(status);
            // Finished meanwhile: the newest view says more than the status alone, once the monitor has
            // taken the outcome in. Until then the backend's word is newer than the last phase seen, so
            // a run Get-RayRunStatus calls completed is never listed as still running.
            var now = GetRun(runId);
            return now != null && RunStatus.IsTerminal(now.Status) ? now : snapshot.WithStatus(status);
        }

        /// <summary>A tracked run as it stands: its outcome once finished, else queued or the last phase the backend reported.</summary>
        public static RunSnapshot Snapshot(TrackedRun run)
        {
            var output = run.IsFinished ? run.Outcome.Task.Result : null;
            return new RunSnapshot
            {
                RunId = run.RunId,
                SweepId = run.SweepId,
                Status = output?.Status ?? (run.Phase == RunPhase.Dispatched ? run.LastPhase : RunStatus.Queued),
                Backend = run.SpecRecord.Backend,
                Entrypoint = run.Spec.Entrypoint.Text,
                Config = run.Config,
                ConfigHash = run.SpecRecord.ConfigHash,
                SubmittedAt = run.SubmittedAt,
                StartedAt = output?.StartedAt ?? run.DispatchedAt,
                CompletedAt = output?.CompletedAt,
                Output = output,
                ObjectRef = run.Ref,
                Tags = run.Spec.Input.AdditionalTags,
                Attempt = run.Attempt,
                PastAttempts = run.PastAttempts ?? Array.Empty<AttemptRecord>(),
                Retry = run.Retry,
                Options = run.Options,
            };
        }
    }
}
