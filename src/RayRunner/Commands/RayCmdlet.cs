using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// What every RayRunner cmdlet shares: one CancellationTokenSource per invocation, cancelled by
    /// Ctrl+C (StopProcessing) so waits and HTTP calls end at once; blocking on Core's async calls
    /// on the pipeline thread, so every Write* call happens there; and the session's connection.
    /// </summary>
    public abstract class RayCmdlet : PSCmdlet, IDisposable
    {
        readonly CancellationTokenSource _stop = new CancellationTokenSource();

        /// <summary>Cancelled when the user presses Ctrl+C or the pipeline is stopped.</summary>
        protected CancellationToken StopToken => _stop.Token;

        protected override void StopProcessing()
        {
            try { _stop.Cancel(); }
            catch (ObjectDisposedException) { }
        }

        public void Dispose()
        {
            _stop.Dispose();
            GC.SuppressFinalize(this);
        }

        /// <summary>
        /// Runs async work to its end on the pipeline thread. A cancel from Ctrl+C becomes
        /// PipelineStoppedException, which is how PowerShell expects a stopped cmdlet to leave.
        /// </summary>
        protected T Await<T>(Task<T> task)
        {
            try
            {
                return task.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
            finally
            {
                if (!StopToken.IsCancellationRequested) WriteBackendNotes(ModuleSession.Current?.Notes);
            }
        }

        /// <summary>
        /// What the backend did on its own threads (retries, backoff, handshake choices, deleted
        /// jobs), for -Verbose: written here, on the pipeline thread, after each awaited call.
        /// </summary>
        internal void WriteBackendNotes(ConcurrentQueue<string>? notes)
        {
            if (notes == null) return;
            while (notes.TryDequeue(out var note)) WriteVerbose(note);
        }

        protected void Await(Task task) => Await(AsBool(task));

        static async Task<bool> AsBool(Task task)
        {
            await task.ConfigureAwait(false);
            return true;
        }

        // --------------------------------------------------------------------------------------
        // The session's connection
        // --------------------------------------------------------------------------------------

        ClusterConnection? _connection;

        /// <summary>
        /// The connection, resolved on first use (not in BeginProcessing: in
        /// <c>Start-RayExperiment | Wait-RayRun</c> every BeginProcessing runs before Start connects).
        /// </summary>
        internal ClusterConnection Connection => _connection ??= RequireConnection();

        /// <summary>The connection, or a terminating NotConnected error: for cmdlets that act on runs.</summary>
        internal ClusterConnection RequireConnection()
        {
            var connection = ModuleSession.Current;
            if (connection != null) return connection;
            ThrowTerminatingError(ErrorMapper.Make(ErrorIds.NotConnected, ErrorCategory.ConnectionError,
                "This session has no RayRunner connection, so it knows no runs. Run Connect-RayCluster first (Start-RayExperiment and Invoke-RayExperiment connect by themselves).",
                null, "Connect-RayCluster [-Backend Auto|Ray|Local] [-Address http://<head>:8265]"));
            throw new InvalidOperationException("unreachable");
        }

        /// <summary>
        /// The connection, connecting with the defaults (Backend Auto) when there is none, as tmgg's
        /// runner auto-initializes Ray: for the cmdlets that start runs.
        /// </summary>
        internal ClusterConnection ConnectIfNeeded()
        {
            var connection = ModuleSession.Current;
            if (connection != null) return connection;
            WriteVerbose("No RayRunner connection in this session: connecting with the defaults (Connect-RayCluster -Backend Auto).");
            connection = OpenConnection(new BackendSettings());
            ModuleSession.Set(connection);
            return connection;
        }

        // --------------------------------------------------------------------------------------
        // Runs of earlier sessions and other processes, before connecting
        // --------------------------------------------------------------------------------------

        bool _storeOpened;
        RunStoreReader? _storeReader;

        /// <summary>
        /// The run store ($RAYRUNNER_HOME) read-only, for a session with no connection: runbooks
        /// list and collect what another process started without starting a cluster as a side
        /// effect. Null when no run was ever recorded there. An unusable store is a terminating
        /// StoreUnreadable error.
        /// </summary>
        internal RunStoreReader? StoreReader()
        {
            if (_storeOpened) return _storeReader;
            _storeOpened = true;
            var root = HostSetup.StoreRootOf(HostSetup.For(this));
            try
            {
                _storeReader = RunStoreReader.OpenExisting(root, StoredRunEnding.Look, StoredRunEnding.Started);
            }
            catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException)
            {
                ThrowTerminatingError(ErrorMapper.Make(ErrorIds.StoreUnreadable, ErrorCategory.ReadError,
                    $"The RayRunner run store cannot be read: {ex.Message}", root,
                    $"Check the permissions of '{root}', or set ${FileRunStore.HomeVariable} to the store you mean."));
            }
            if (_storeReader == null) WriteVerbose($"No run store at '{root}': no runs were recorded on this machine under ${FileRunStore.HomeVariable}.");
            return _storeReader;
        }

        /// <summary>
        /// The session's one read view of runs: the connection's runner when there is one, else the
        /// run store read-only (never connecting); null when neither exists (no run ever recorded).
        /// </summary>
        internal IRunView? ReadView() => (IRunView?)ModuleSession.Current?.Runner ?? StoreView();

        StoreOnlyView? _storeView;

        /// <summary>The run store read-only, where a Ray run whose head does not answer shows unknown (<see cref="StoreOnlyView"/>); null when no store exists.</summary>
        StoreOnlyView? StoreView() =>
            _storeView ??= StoreReader() is { } reader ? new StoreOnlyView(reader, new RayHeadReachability(cancellation: StopToken)) : null;

        /// <summary>
        /// The connection that can follow a run the read view shows still going: the session's, else
        /// one opened to the backend the run was made for (reading needs no backend; following does).
        /// </summary>
        internal ClusterConnection ConnectionToFollow(RunSnapshot run)
        {
            if (ModuleSession.Current is { } connection) return connection;
            var (backend, address) = StoreReader()?.BackendOf(run.RunId) ?? (run.Backend, "");
            return ConnectToFollow(run.RunId, backend, address);
        }

        /// <summary>The run store's records as this session reads them (the connection's store, else the store read-only); null when none exists.</summary>
        internal RunStoreReader? Records() => ModuleSession.Current?.Runs.Store ?? StoreReader();

        /// <summary>
        /// Connects to follow a recorded run that has not finished: following needs the backend the
        /// run was made for, so the session connects to that one (a Ray run: its recorded address).
        /// Auto-start stays off — a new cluster would not have the run. Connect-RayCluster first to
        /// choose otherwise.
        /// </summary>
        internal ClusterConnection ConnectToFollow(string runId, string backend, string address)
        {
            var settings = string.Equals(backend, LocalProcessBackendName, StringComparison.OrdinalIgnoreCase)
                ? new BackendSettings { Backend = BackendChoice.Local }
                : string.Equals(backend, RayBackendName, StringComparison.OrdinalIgnoreCase)
                    ? new BackendSettings { Backend = BackendChoice.Ray, Address = string.IsNullOrEmpty(address) ? null : address, NoAutoStart = true }
                    : new BackendSettings { NoAutoStart = true };
            WriteVerbose($"No RayRunner connection in this session: run {runId} has not finished, and following it needs its backend. " +
                         $"Connecting to the {backend} backend" + (string.IsNullOrEmpty(address) ? "" : $" at {address}") + " (auto-start off).");
            var connection = OpenConnection(settings);
            ModuleSession.Set(connection);
            return connection;
        }

        const string LocalProcessBackendName = Core.Local.LocalProcessBackend.BackendName;
        const string RayBackendName = Core.Ray.RayJobsBackend.BackendName;

        /// <summary>Opens a connection or ends the cmdlet with a terminating error that says why and what to do.</summary>
        /// <param name="cpusPerTaskGiven">The caller named -NumCpusPerTask (else a local run reserves no CPU; see <see cref="ClusterConnection.OpenAsync"/>).</param>
        internal ClusterConnection OpenConnection(BackendSettings settings, bool cpusPerTaskGiven = false)
        {
            var warnings = new ConcurrentQueue<string>();
            var notes = new ConcurrentQueue<string>();
            settings = settings with { Log = notes.Enqueue };
            WriteVerbose($"Connecting: backend {settings.Backend}, address {settings.Address ?? "(default)"}, MaxConcurrent {settings.MaxConcurrent}, " +
                         (cpusPerTaskGiven ? $"{settings.NumCpusPerTask} CPU" : "the backend's default CPUs") + $" and {settings.NumGpusPerTask} GPU per run, " +
                         $"auto-start {(settings.NoAutoStart ? "off" : "on")}" + (string.IsNullOrEmpty(settings.Token) ? "." : ", with a token."));
            try
            {
                var connection = Await(ClusterConnection.OpenAsync(settings, cpusPerTaskGiven, HostSetup.For(this), warnings.Enqueue, StopToken));
                connection.Notes = notes;
                WriteBackendNotes(notes);
                if (connection.CapacityWarning() is { } capacity) warnings.Enqueue(capacity);
                FlushWarnings(warnings);
                WriteVerbose($"Connected to the {connection.Backend.Name} backend at {connection.Backend.Address}.");
                return connection;
            }
            catch (PipelineStoppedException)
            {
                throw;
            }
            catch (Exception ex)
            {
                WriteBackendNotes(notes);
                FlushWarnings(warnings);
                var fallback = ex is NotSupportedException ? ErrorIds.BackendNotSupported : ErrorIds.ConnectFailed;
                ThrowTerminatingError(ErrorMapper.From(ex, fallback, settings.Backend));
                throw; // unreachable
            }
        }

        void FlushWarnings(ConcurrentQueue<string> warnings)
        {
            while (warnings.TryDequeue(out var warning)) WriteWarning(warning);
        }

        // --------------------------------------------------------------------------------------
        // Errors and progress
        // --------------------------------------------------------------------------------------

        SweepAxes? _axes;
        readonly HashSet<string> _warned = new HashSet<string>(StringComparer.Ordinal);

        /// <summary>
        /// Writes one result: the pipeline object (tags, the settings its sweep varies) after a
        /// warning for anything in it the user would otherwise miss (see <see cref="RayExperimentResult.Warnings"/>).
        /// </summary>
        /// <param name="runs">Every run the session can see (Core's snapshots), read once per invocation for the sweep axes.</param>
        /// <param name="allMetrics">Every metric name of the batch: see <see cref="RayExperimentResult.ToPSObject"/>.</param>
        internal void WriteResult(ExperimentResult result, IReadOnlyList<string> tags, Func<IEnumerable<RunSnapshot>> runs, IEnumerable<string>? allMetrics = null)
        {
            _axes ??= new SweepAxes(sweepId => runs().Where(r => r.SweepId == sweepId).Select(r => r.Config));
            var shown = RayExperimentResult.From(result, tags, _axes);
            foreach (var (key, text) in shown.Warnings())
                if (_warned.Add(key)) WriteWarning(text);
            WriteObject(shown.ToPSObject(allMetrics));
        }

        /// <summary>
        /// A run whose record cannot be read has no result, no locator and no backend to follow: says
        /// so (RunRecordDamaged, the snapshot's own what-to-do) and returns true, so the caller neither
        /// waits for it nor connects to follow it. False for any other run.
        /// </summary>
        internal bool WriteIfDamaged(RunSnapshot run)
        {
            if (run.Status != RunStatus.Damaged) return false;
            WriteError(ErrorMapper.Make(ErrorIds.RunRecordDamaged, ErrorCategory.InvalidData, run.Damage ?? $"Run '{run.RunId}' has a damaged record.", run.RunId));
            return true;
        }

        internal void WriteRunNotFound(string runId) =>
            WriteError(ErrorMapper.Make(ErrorIds.RunNotFound, ErrorCategory.ObjectNotFound, RunCatalog.NotFoundMessage(runId), runId));

        /// <summary>Writes a Core exception as a per-item error; a Ctrl+C stop is passed on instead.</summary>
        internal void WriteMappedError(Exception ex, string fallbackId, object? target)
        {
            if (ex is OperationCanceledException && StopToken.IsCancellationRequested) throw new PipelineStoppedException();
            WriteError(ErrorMapper.From(ex, fallbackId, target));
        }

        /// <summary>Progress for a wait; PowerShell honours $ProgressPreference itself.</summary>
        internal void WriteWaitProgress(int activityId, string activity, int done, int total, bool completed = false)
        {
            var record = new ProgressRecord(activityId, activity, $"{done} of {total} runs finished")
            {
                PercentComplete = total == 0 ? 100 : Math.Min(100, done * 100 / total),
                RecordType = completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
            };
            WriteProgress(record);
        }

        /// <summary>
        /// Waits for runs with Write-Progress, writing only from the pipeline thread: each round
        /// blocks until at least one more run is final (the runner's completion signal, no polling),
        /// then updates the progress bar. Returns the final runs in the order given.
        /// </summary>
        /// <param name="timeout">Null waits without limit.</param>
        internal IReadOnlyList<string> WaitForRuns(RunCatalog runs, IReadOnlyList<string> runIds, bool any, TimeSpan? timeout, int activityId, string activity)
        {
            var deadline = timeout.HasValue ? DateTime.UtcNow + timeout.Value : (DateTime?)null;
            var done = new HashSet<string>(StringComparer.Ordinal);
            try
            {
                while (true)
                {
                    WriteWaitProgress(activityId, activity, done.Count, runIds.Count);
                    var open = runIds.Where(id => !done.Contains(id)).ToList();
                    if (open.Count == 0 || (any && done.Count > 0)) break;
                    TimeSpan? remaining = null;
                    if (deadline.HasValue)
                    {
                        remaining = deadline.Value - DateTime.UtcNow;
                        if (remaining < TimeSpan.Zero) remaining = TimeSpan.Zero;
                    }
                    // In slices, so the backend's warnings (a head that stopped answering) reach the user
                    // while the wait goes on, not after it.
                    var slice = remaining.HasValue && remaining.Value < WarningCheckInterval ? remaining.Value : WarningCheckInterval;
                    var finished = Await(runs.WaitAsync(open, any: true, slice, StopToken));
                    WriteBackendWarnings();
                    foreach (var id in finished) done.Add(id);
                    if (finished.Count == 0 && deadline.HasValue && DateTime.UtcNow >= deadline.Value) break; // the timeout passed
                }
            }
            finally
            {
                if (!StopToken.IsCancellationRequested)
                    WriteWaitProgress(activityId, activity, done.Count, runIds.Count, completed: true);
            }
            return runIds.Where(done.Contains).ToList();
        }

        static readonly TimeSpan WarningCheckInterval = TimeSpan.FromSeconds(1);

        /// <summary>Writes what the connection's backend warned about since the last look.</summary>
        internal void WriteBackendWarnings()
        {
            if (ModuleSession.Current is { } connection)
            {
                foreach (var warning in connection.TakeWarnings()) WriteWarning(warning);
                // What the runner did on its own, such as retrying a failed attempt (and why).
                foreach (var notice in connection.Runner.TakeNotices()) WriteVerbose(notice);
            }
        }

        /// <summary>Runs work for every item at once (HTTP calls overlap), then hands back the outcomes in input order.</summary>
        internal IReadOnlyList<(TIn Item, T? Value, Exception? Error)> RunAll<TIn, T>(IReadOnlyList<TIn> items, Func<TIn, CancellationToken, Task<T>> work)
        {
            var tasks = new List<Task<T>>(items.Count);
            foreach (var item in items) tasks.Add(Start(() => work(item, StopToken)));
            try
            {
                Await(Task.WhenAll(tasks));
            }
            catch (PipelineStoppedException)
            {
                throw;
            }
            catch (Exception)
            {
                // Each task's own outcome is reported below.
            }
            var results = new List<(TIn, T?, Exception?)>(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                var t = tasks[i];
                if (t.IsCanceled && StopToken.IsCancellationRequested) throw new PipelineStoppedException();
                results.Add(t.Status == TaskStatus.RanToCompletion
                    ? (items[i], t.Result, null)
                    : (items[i], default, t.Exception?.InnerException ?? new OperationCanceledException()));
            }
            return results;
        }

        static Task<T> Start<T>(Func<Task<T>> work)
        {
            try { return work(); }
            catch (Exception ex) { return Task.FromException<T>(ex); }
        }
    }
}
