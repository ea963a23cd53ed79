using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// What the runner's collaborators share: the backend, the store, the options, the table of
    /// runs this runner tracks, this process's identity, and the runner's lifetime — the root of
    /// the cancellation tree (runner, then each run's <see cref="TrackedRun.Watch"/>, then each call).
    /// </summary>
    internal sealed class RunnerContext
    {
        readonly CancellationTokenSource _lifetime;

        public RunnerContext(IRayBackend backend, RayRunnerOptions options, IRunStore store)
        {
            _lifetime = options.Lifetime ?? new CancellationTokenSource();
            Backend = backend;
            Options = options;
            Store = store;
        }

        public IRayBackend Backend { get; }
        public RayRunnerOptions Options { get; }
        public IRunStore Store { get; }
        /// <summary>This process, as recorded in the store for runs it holds or hands over.</summary>
        public ProcessIdentity Me { get; } = ProcessIdentity.Current;
        public RunTable Runs { get; } = new RunTable();

        /// <summary>Cancelled when the runner is disposed: every run's watch and every background call end with it.</summary>
        public CancellationToken Lifetime => _lifetime.Token;
        public bool IsDisposed => _lifetime.IsCancellationRequested;
        public void EndLifetime() => _lifetime.Cancel();

        public void ThrowIfDisposed()
        {
            if (IsDisposed)
                throw new ObjectDisposedException(nameof(ExperimentRunner), "The runner was disposed; its runs go on in the backend and in the run store. Create a new runner over the same store to follow them.");
        }

        /// <summary>
        /// A call's token, the child of the caller's and the runner's lifetime: a call into the backend
        /// or the store ends when either does. Dispose it when the call returns.
        /// </summary>
        public CancellationTokenSource CallScope(CancellationToken caller) =>
            CancellationTokenSource.CreateLinkedTokenSource(caller, Lifetime);

        /// <summary>
        /// Awaits what a run will produce until the caller cancels (OperationCanceledException) or the
        /// runner is disposed (ObjectDisposedException: its monitors have stopped, nothing will come).
        /// </summary>
        public async Task<T> AwaitAsync<T>(Task<T> task, CancellationToken cancellationToken)
        {
            if (!await Waits.EndsFirstAsync(task, cancellationToken, Lifetime).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested();
                ThrowIfDisposed();
            }
            return await task.ConfigureAwait(false);
        }

        /// <summary>tmgg's _get_remote_options: CPUs, one experiment slot, and GPUs only when asked for.</summary>
        public TaskOptions RemoteOptions() => new TaskOptions
        {
            NumCpus = Options.NumCpusPerTask,
            NumGpus = Options.NumGpusPerTask > 0 ? Options.NumGpusPerTask : (double?)null,
            Resources = new Dictionary<string, double> { [ClusterOptions.ExperimentSlotResource] = 1 },
        };

        /// <summary>True when the record's run was made for this runner's backend.</summary>
        public bool CanRunHere(RunRecord record) => record.Spec.Backend == Backend.Name;

        public string OtherBackend(RunRecord record) =>
            $"Run '{record.RunId}' was started on the {record.Spec.Backend} backend at {record.Spec.Address}, but this runner uses the {Backend.Name} backend at {Backend.Address}. " +
            $"Connect to the {record.Spec.Backend} backend to follow it.";

        /// <summary>What the runner did on its own that a user may want to know (a retried attempt), oldest first; bounded.</summary>
        readonly ConcurrentQueue<string> _notices = new ConcurrentQueue<string>();
        const int MaxNotices = 1000;

        /// <summary>Keeps a notice for the next <see cref="TakeNotices"/> (a cmdlet writes it verbosely).</summary>
        public void Notify(string notice)
        {
            _notices.Enqueue(notice);
            while (_notices.Count > MaxNotices && _notices.TryDequeue(out _)) { }
        }

        public IReadOnlyList<string> TakeNotices()
        {
            var taken = new List<string>();
            while (_notices.TryDequeue(out var notice)) taken.Add(notice);
            return taken;
        }

        public static KeyNotFoundException NotFound(string? runId) =>
            new KeyNotFoundException($"No run with id '{runId}' is tracked by this runner or recorded in its run store. List the known runs with Get-RayRun (ListRuns).");
    }

    /// <summary>The runs this runner tracks right now (tmgg's _active_runs), by id.</summary>
    internal sealed class RunTable
    {
        readonly ConcurrentDictionary<string, TrackedRun> _runs = new ConcurrentDictionary<string, TrackedRun>(StringComparer.Ordinal);

        public bool TryAdd(TrackedRun run) => _runs.TryAdd(run.RunId, run);
        public bool TryGet(string? runId, out TrackedRun run)
        {
            if (runId != null && _runs.TryGetValue(runId, out var found))
            {
                run = found;
                return true;
            }
            run = null!;
            return false;
        }
        public bool Contains(string? runId) => runId != null && _runs.ContainsKey(runId);
        public bool Remove(string runId) => _runs.TryRemove(runId, out _);
        public IReadOnlyCollection<string> Ids => _runs.Keys.ToList();
        public IReadOnlyList<TrackedRun> All => _runs.Values.ToList();
    }
}
