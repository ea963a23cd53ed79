using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Every run the session can see, as pipeline objects. The Core runner answers for all of them —
    /// the runs it tracks and those its run store records from earlier sessions and other processes
    /// (it re-attaches to those itself) — so this type only turns its answers into RayRun objects
    /// and keeps no state of its own.
    /// </summary>
    internal sealed class RunCatalog
    {
        readonly ExperimentRunner _runner;

        public RunCatalog(ExperimentRunner runner) => _runner = runner;

        public bool IsTracked(string runId) => _runner.IsTracked(runId);

        /// <summary>All runs, oldest first.</summary>
        public IReadOnlyList<RayRun> List()
        {
            return _runner.ListRuns().Select(s => RayRun.FromSnapshot(s, tracked: _runner.IsTracked(s.RunId), s.Tags)).ToList();
        }

        /// <summary>The tags the run was started with (-Tag).</summary>
        public IReadOnlyList<string> TagsOf(string runId) => Store.TagsOf(runId);

        internal static IReadOnlyList<string>? TagsIn(IReadOnlyDictionary<string, IReadOnlyList<string>> tags, string runId) =>
            tags.TryGetValue(runId, out var found) ? found : null;

        /// <summary>Every run as Core sees it (configs in Core's shape), oldest first.</summary>
        public IReadOnlyList<RunSnapshot> Snapshots() => _runner.ListRuns();

        public IEnumerable<string> KnownRunIds() => _runner.ListRuns().Select(s => s.RunId);

        /// <summary>One run, or null when neither the runner nor its store knows it.</summary>
        public RayRun? Find(string runId)
        {
            var snapshot = _runner.GetRun(runId);
            return snapshot == null ? null : RayRun.FromSnapshot(snapshot, tracked: _runner.IsTracked(runId), snapshot.Tags);
        }

        /// <summary>A live run with its status asked of the backend (a snapshot only knows the last phase seen).</summary>
        public async Task<RayRun?> FindFreshAsync(string runId, CancellationToken cancellationToken)
        {
            var snapshot = await _runner.RefreshAsync(runId, cancellationToken).ConfigureAwait(false);
            return snapshot == null ? null : RayRun.FromSnapshot(snapshot, tracked: _runner.IsTracked(runId), snapshot.Tags);
        }

        /// <summary>Why this session cannot follow the run (unfinished, on another backend); null when it can.</summary>
        public string? WhyCannotFollow(string runId) => _runner.WhyCannotFollow(runId);

        public Task<string> GetStatusAsync(string runId, CancellationToken cancellationToken) =>
            _runner.GetStatusAsync(runId, cancellationToken);

        /// <summary>The final result if the run has ended (live or recorded), else null.</summary>
        public ExperimentResult? TryGetResult(string runId) => _runner.TryGetResult(runId);

        public Task<ExperimentResult> GetResultAsync(string runId, CancellationToken cancellationToken) =>
            _runner.GetResultAsync(runId, cancellationToken);

        /// <summary>Waits until all (or any) of the runs are final or the timeout passes; returns the final ones in the order given.</summary>
        public Task<IReadOnlyList<string>> WaitAsync(IReadOnlyList<string> runIds, bool any, TimeSpan? timeout, CancellationToken cancellationToken) =>
            _runner.WaitAsync(runIds, any, timeout, cancellationToken);

        public Task<bool> CancelAsync(string runId, CancellationToken cancellationToken) => _runner.CancelAsync(runId, cancellationToken);

        public Task<string> GetLogAsync(string runId, int? tail, CancellationToken cancellationToken) =>
            _runner.GetLogAsync(runId, tail, cancellationToken);

        /// <summary>One attempt's log of a retried run.</summary>
        public Task<string> GetAttemptLogAsync(string runId, int attempt, int? tail, CancellationToken cancellationToken) =>
            _runner.GetAttemptLogAsync(runId, attempt, tail, cancellationToken);

        /// <summary>Forgets a finished run everywhere: the backend's record of it (a Ray job), the runner and the store.</summary>
        public Task<bool> RemoveAsync(string runId, CancellationToken cancellationToken) => _runner.RemoveRunAsync(runId, cancellationToken);

        public void Forget(string runId) => _runner.Forget(runId);

        /// <summary>Adopts and dispatches the queued runs whose process died (of one sweep, or all); returns them oldest first.</summary>
        public Task<IReadOnlyList<RaySpawnedTask>> ResumeQueuedAsync(string? sweepId, CancellationToken cancellationToken) =>
            _runner.ResumeQueuedAsync(sweepId, cancellationToken);

        /// <summary>The runner's store, read-only (orphan previews for -WhatIf).</summary>
        public RunStoreReader Store => new RunStoreReader(_runner.Store);

        public string BackendName => _runner.Backend.Name;

        public static string NotFoundMessage(string runId) =>
            $"No run with id '{runId}' is known in this session or its run store. Get-RayRun lists the runs that are.";
    }
}
