using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// A read-only view of a run store for callers that have no runner, hence no backend: a
    /// PowerShell session that has not connected, a runbook collecting what another process
    /// started. It answers from the records alone — never calls a backend, never claims, adopts
    /// or dispatches anything — with the same snapshots and statuses a runner over the same store
    /// gives for runs it does not track (<see cref="ExperimentRunner.ListRuns"/>, <see cref="ExperimentRunner.GetRun"/>).
    /// </summary>
    /// <remarks>
    /// A run that is submitted but not finished shows how it ended when the reader was given a way
    /// to see that without a backend (<c>endedSince</c>: a local run's exit file, see
    /// <c>StoredRunEnding</c>), else its last recorded status (pending/running). The reader never
    /// records what it sees (it may be read-only); the next runner that looks records it. Following
    /// such a run needs a runner (<see cref="ExperimentRunner.WaitAsync"/>).
    /// </remarks>
    public sealed class RunStoreReader : IRunView
    {
        readonly IRunStore _store;
        readonly Func<RunRecord, TaskOutput?>? _endedSince;
        readonly Func<RunRecord, bool>? _startedSince;

        /// <param name="endedSince">Tells, without a backend, whether an unfinished run has ended since it was recorded (its output), else null.</param>
        /// <param name="startedSince">Tells, without a backend, whether a run recorded as pending has started since (a local run's claim file).</param>
        public RunStoreReader(IRunStore store, Func<RunRecord, TaskOutput?>? endedSince = null, Func<RunRecord, bool>? startedSince = null)
        {
            _store = store ?? throw new ArgumentNullException(nameof(store));
            _endedSince = endedSince;
            _startedSince = startedSince;
        }

        /// <summary>
        /// The store at <paramref name="root"/> (null: <c>$RAYRUNNER_HOME</c>, else <c>~/.rayrunner</c>)
        /// when it exists; null when no run was ever recorded there. Creates, changes and locks nothing
        /// (<see cref="FileRunStore.OpenForReading"/>): looking must not leave a store behind on a
        /// machine that never ran anything, and must work on a store the user cannot write.
        /// </summary>
        public static RunStoreReader? OpenExisting(string? root = null, Func<RunRecord, TaskOutput?>? endedSince = null, Func<RunRecord, bool>? startedSince = null)
        {
            var folder = Path.GetFullPath(string.IsNullOrWhiteSpace(root) ? FileRunStore.DefaultRoot() : root!);
            if (!Directory.Exists(Path.Combine(folder, "runs"))) return null;
            return new RunStoreReader(FileRunStore.OpenForReading(folder), endedSince, startedSince);
        }

        /// <summary>Files that could not be read (skipped and reported, never thrown).</summary>
        public IReadOnlyList<StoreProblem> Problems => _store.Problems;

        IReadOnlyList<StoreProblem> IRunView.StoreProblems => _store.Problems;

        /// <summary>Always false: a store alone follows nothing live.</summary>
        public bool IsTracked(string runId) => false;

        /// <summary>Every readable run, oldest first (the order <see cref="ExperimentRunner.ListRuns"/> uses).</summary>
        public IReadOnlyList<RunSnapshot> ListRuns()
        {
            // One pass over the store for both: each pass stats every run folder. Each run comes from
            // its summary; its whole record is read only when a caller touches what the summary lacks.
            var listing = _store.ListAll();
            return Sorted(listing.Summaries.Select(s => SnapshotOf(s, listing)).Concat(DamagedRuns(listing.Damaged)));
        }

        RunSnapshot SnapshotOf(RunSummary summary, StoreListing listing)
        {
            // A submitted run that has not ended may have ended (or started) since it was recorded:
            // seeing that takes its whole record (its locator). Such runs are few.
            if (_endedSince != null && !summary.IsFinal && summary.Submitted && listing.Load(summary) is { } record)
                return RunSnapshot.FromRecord(Current(record));
            return RunSnapshot.FromSummary(summary, listing.Load);
        }

        /// <summary>One run as recorded (a damaged record as a <c>damaged</c> run); null when the store has no record of it.</summary>
        public RunSnapshot? GetRun(string runId)
        {
            var record = Load(runId);
            return record != null ? RunSnapshot.FromRecord(Current(record)) : Damaged(_store, runId);
        }

        /// <summary>The runs whose record cannot be read, as <c>damaged</c> snapshots (shared with the live runner's view).</summary>
        internal static IEnumerable<RunSnapshot> DamagedRuns(IEnumerable<StoreProblem> damaged) =>
            damaged.Where(p => p.RunId != null).Select(RunSnapshot.FromDamage);

        /// <summary>The run as a <c>damaged</c> snapshot when its record cannot be read; else null.</summary>
        internal static RunSnapshot? Damaged(IRunStore store, string runId) =>
            RunIds.IsValid(runId) && store.DamageOf(runId) is { } problem ? RunSnapshot.FromDamage(problem) : null;

        /// <summary>
        /// The recorded status: the result's status once final, <c>queued</c> before submission, the
        /// last phase seen after it; <c>unknown</c> when the store has no such run (tmgg's answer).
        /// </summary>
        public string GetStatus(string runId) => GetRun(runId)?.Status ?? RunStatus.Unknown;

        Task<string> IRunView.GetStatusAsync(string runId, CancellationToken cancellationToken) => Task.FromResult(GetStatus(runId));

        Task<RunSnapshot?> IRunView.RefreshAsync(string runId, CancellationToken cancellationToken) => Task.FromResult(GetRun(runId));

        /// <summary>The recorded result of a finished run; null when it has none (yet) or is unknown.</summary>
        public ExperimentResult? TryGetResult(string runId)
        {
            var record = Load(runId) is { } loaded ? Current(loaded) : null;
            return record?.Result == null ? null
                : ExperimentResult.FromTaskOutput(record.Result, record.RunId, record.Spec.Config, record.SweepId);
        }

        /// <summary>The run's record as stored (no end seen since added); null for an unknown or damaged run.</summary>
        public RunRecord? RecordOf(string runId) => Load(runId);

        /// <summary>Where the run was made to run: the backend's name ("local", "ray") and address. Null for an unknown run.</summary>
        public (string Backend, string Address)? BackendOf(string runId)
        {
            var record = Load(runId);
            return record == null ? null : (record.Spec.Backend, record.Spec.Address);
        }

        /// <summary>
        /// Queued runs whose process died or let them go (the runs <see cref="ExperimentRunner.ResumeQueuedAsync"/>
        /// would adopt), oldest first. A preview: the adoption itself is decided under the store lock.
        /// </summary>
        /// <param name="sweepId">Only runs of this sweep; null for every orphan.</param>
        public IReadOnlyList<RunSnapshot> ListOrphans(string? sweepId = null)
        {
            var listing = _store.ListAll();
            return listing.Summaries
                .Where(s => (sweepId == null || s.SweepId == sweepId) && s.IsOrphan)
                .Select(s => RunSnapshot.FromSummary(s, listing.Load)).OrderBy(s => s, Comparer<RunSnapshot>.Create(RunSnapshot.Compare)).ToList();
        }

        static IReadOnlyList<RunSnapshot> Sorted(IEnumerable<RunSnapshot> snapshots)
        {
            var list = snapshots.ToList();
            list.Sort(RunSnapshot.Compare);
            return list;
        }

        /// <summary>The tags the run was started with (-Tag; TaskInput.additional_tags); empty for an unknown run.</summary>
        public IReadOnlyList<string> TagsOf(string runId) => Load(runId)?.Spec.Input?.AdditionalTags ?? Array.Empty<string>();

        /// <summary>Every run's tags by run id, read in one pass over the store (listing many runs).</summary>
        public IReadOnlyDictionary<string, IReadOnlyList<string>> TagsByRun()
        {
            var tags = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var summary in _store.ListAll().Summaries)
                if (summary.Tags is { Count: > 0 } given) tags[summary.RunId] = given;
            return tags;
        }

        /// <summary>The record with the end the reader can see without a backend (in memory only: a reader writes nothing).</summary>
        RunRecord Current(RunRecord record)
        {
            if (_endedSince == null || record.IsFinal || !record.IsSubmitted) return record;
            var output = _endedSince(record);
            // An attempt that ended with a retry due is not the run's end: the last recorded status
            // stands until a runner records the next attempt.
            if (output != null && RetryPolicy.ReasonToRetryAfter(record.Spec.Retry, record.Attempt, output, lost: false) != null) return record;
            if (output != null) return record.With(status: RunStatus.Normalize(output.Status) ?? RunStatus.Failed, result: output);
            // Still going: a run recorded pending whose process has visibly started is running (the
            // recorder writes "running" only when a runner looks; a killed session never will).
            return record.Status == RunStatus.Pending && _startedSince?.Invoke(record) == true ? record.With(status: RunStatus.Running) : record;
        }

        RunRecord? Load(string runId) => RunIds.IsValid(runId) ? _store.TryLoad(runId) : null;
    }
}
