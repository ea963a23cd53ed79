using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using CoreRunner = RayRunner.Core.RayRunner;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// One live connection of a PowerShell session: the settings it was made with, the backend, and
    /// the Core runner over it. Every run cmdlet goes through <see cref="Runs"/>.
    /// </summary>
    internal sealed class ClusterConnection : IDisposable
    {
        ClusterConnection(BackendSettings settings, CoreRunner runner)
        {
            Settings = settings;
            Runner = runner;
            Runs = new RunCatalog(runner);
            ConnectedAt = DateTime.Now;
        }

        public BackendSettings Settings { get; }
        public CoreRunner Runner { get; }
        public IRayBackend Backend => Runner.Backend;
        public RunCatalog Runs { get; }
        public DateTime ConnectedAt { get; }
        public bool IsDisposed { get; private set; }

        /// <summary>
        /// Builds the backend and the runner (which checks availability and initializes the backend,
        /// starting a local Ray head when the backend does that). A failure leaves nothing behind.
        /// </summary>
        /// <param name="cpusPerTaskGiven">
        /// Whether the caller named the CPUs per run. When not, a local run reserves none: on this
        /// machine MaxConcurrent is the limit a user sets (as -ThrottleLimit is), and counting one
        /// CPU per run would quietly hold 8 runs that sleep or wait on I/O to the number of cores.
        /// Ray keeps its own default of one CPU per run, which its scheduler needs.
        /// </param>
        public static async Task<ClusterConnection> OpenAsync(BackendSettings settings, bool cpusPerTaskGiven, Action<string> warn, CancellationToken cancellationToken)
        {
            // Runs are recorded under $RAYRUNNER_HOME (default ~/.rayrunner), so every session and
            // process sees them; the local backend writes each run's log into the run's folder.
            var store = new FileRunStore();
            var backend = await BackendFactory.CreateAsync(settings with { LogPathFor = store.LogPathFor }, warn, cancellationToken).ConfigureAwait(false);
            if (!cpusPerTaskGiven && backend.Name == Core.Local.LocalProcessBackend.BackendName)
                settings = settings with { NumCpusPerTask = 0 };
            try
            {
                var runner = await CoreRunner.CreateAsync(backend, new RayRunnerOptions
                {
                    MaxConcurrent = settings.MaxConcurrent,
                    NumCpusPerTask = settings.NumCpusPerTask,
                    NumGpusPerTask = settings.NumGpusPerTask,
                    Store = store,
                }, cancellationToken).ConfigureAwait(false);
                return new ClusterConnection(settings, runner);
            }
            catch
            {
                // The runner never came to be: undo whatever init did (a head it started), best effort.
                try
                {
                    if (backend.IsInitialized) await backend.ShutdownAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch
                {
                    // The original error is the one worth reporting.
                }
                (backend as IDisposable)?.Dispose();
                throw;
            }
        }

        /// <summary>
        /// True when every setting the caller named matches this connection (tmgg's "skip if
        /// connected"): settings left out do not matter.
        /// </summary>
        public bool Matches(BackendSettings wanted, ConnectRequestShape named)
        {
            // Auto means "whatever this session has"; a named backend must be the one in use.
            if (named.Backend && wanted.Backend != BackendChoice.Auto && wanted.Backend != Settings.Backend
                && !string.Equals(wanted.Backend.ToString(), Backend.Name, StringComparison.OrdinalIgnoreCase)) return false;
            if (named.Address && !string.Equals(Normalize(wanted.Address), Normalize(Settings.Address), StringComparison.OrdinalIgnoreCase)
                && !string.Equals(Normalize(wanted.Address), Normalize(Backend.Address), StringComparison.OrdinalIgnoreCase)) return false;
            if (named.MaxConcurrent && wanted.MaxConcurrent != Settings.MaxConcurrent) return false;
            if (named.NumCpusPerTask && wanted.NumCpusPerTask != Settings.NumCpusPerTask) return false;
            if (named.NumGpusPerTask && !wanted.NumGpusPerTask.Equals(Settings.NumGpusPerTask)) return false;
            if (named.Token && !string.Equals(wanted.Token, Settings.Token, StringComparison.Ordinal)) return false;
            if (named.NoAutoStart && wanted.NoAutoStart != Settings.NoAutoStart) return false;
            return true;
        }

        /// <summary>
        /// Why fewer runs than MaxConcurrent run at once, in a sentence a user can act on; null when
        /// MaxConcurrent is what they get.
        /// </summary>
        public string? CapacityWarning()
        {
            var atOnce = Runner.DispatchLimit;
            if (atOnce >= Runner.MaxConcurrent) return null;
            var cpus = Settings.NumCpus ?? Environment.ProcessorCount;
            var reserves = Runner.NumGpusPerTask > 0
                ? $"{Runner.NumCpusPerTask} CPU(s) and {Runner.NumGpusPerTask} GPU(s) (-NumCpusPerTask, -NumGpusPerTask)"
                : $"{Runner.NumCpusPerTask} CPU(s) (-NumCpusPerTask)";
            return $"The {Backend.Name} backend runs at most {atOnce} of these runs at once, not the {Runner.MaxConcurrent} that -MaxConcurrent allows: " +
                   $"each run reserves {reserves} and this machine has {cpus} CPU(s). " +
                   "For runs that are not CPU-bound, connect with -NumCpusPerTask 0; otherwise lower -MaxConcurrent to silence this warning.";
        }

        static string Normalize(string? address) => (address ?? "").Trim().TrimEnd('/');

        /// <summary>Unfinished runs this connection tracks (runs of other sessions in the store do not tie it up).</summary>
        public int ActiveRunCount() => Runner.ActiveRunIds.Count(id => Runner.GetRun(id) is { } run && !RunStatus.IsTerminal(run.Status));

        public RayCluster Describe() => new RayCluster
        {
            Backend = Backend.Name,
            Address = Backend.Address,
            RequestedBackend = Settings.Backend.ToString(),
            MaxConcurrent = Runner.MaxConcurrent,
            RunsAtOnce = Runner.DispatchLimit,
            NumCpusPerTask = Runner.NumCpusPerTask,
            NumGpusPerTask = Runner.NumGpusPerTask,
            NoAutoStart = Settings.NoAutoStart,
            // The backend knows whether it sends a token (Ray also finds one in RAY_AUTH_TOKEN and files).
            HasToken = Backend is Core.Ray.RayJobsBackend ray ? ray.HasToken : !string.IsNullOrEmpty(Settings.Token),
            IsConnected = !IsDisposed && Backend.IsInitialized,
            StartedByRayRunner = Backend is IClusterLifecycle { StartedCluster: true },
            ActiveRuns = IsDisposed ? 0 : ActiveRunCount(),
            ConnectedAt = ConnectedAt,
        };

        /// <summary>Disconnects: the backend shuts down (stopping a cluster only if it started it), then the runner stops its monitors.</summary>
        public async Task CloseAsync(CancellationToken cancellationToken)
        {
            try
            {
                await Runner.ShutdownAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Dispose();
            }
        }

        public void Dispose()
        {
            if (IsDisposed) return;
            IsDisposed = true;
            Runner.Dispose();
            (Backend as IDisposable)?.Dispose();
        }
    }

    /// <summary>Which Connect-RayCluster parameters the caller named (those must match a live connection to reuse it).</summary>
    internal sealed class ConnectRequestShape
    {
        public bool Backend;
        public bool Address;
        public bool MaxConcurrent;
        public bool NumCpusPerTask;
        public bool NumGpusPerTask;
        public bool Token;
        public bool NoAutoStart;
    }
}
