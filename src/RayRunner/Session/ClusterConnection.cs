using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// One live connection of a PowerShell session: the settings it was made with, the backend, and
    /// the Core runner over it. Every run cmdlet goes through <see cref="Runs"/>.
    /// </summary>
    internal sealed class ClusterConnection : IDisposable
    {
        ClusterConnection(BackendSettings settings, ExperimentRunner runner)
        {
            Settings = settings;
            Runner = runner;
            Runs = new RunCatalog(runner);
            ConnectedAt = DateTime.Now;
        }

        public BackendSettings Settings { get; }
        public ExperimentRunner Runner { get; }
        public IRayBackend Backend => Runner.Backend;
        public RunCatalog Runs { get; }
        public DateTime ConnectedAt { get; }
        public bool IsDisposed { get; private set; }

        /// <summary>
        /// Builds store, backend and runner through Core's one composition (<see cref="RunnerHost"/>),
        /// which checks availability, initializes the backend (starting a local Ray head when the
        /// backend does that) and leaves nothing behind on failure. Runs are recorded under the
        /// host's store root ($RAYRUNNER_HOME by default), so every session and process sees them.
        /// </summary>
        /// <param name="cpusPerTaskGiven">
        /// Whether the caller named the CPUs per run. When not, a local run reserves none: on this
        /// machine MaxConcurrent is the limit a user sets (as -ThrottleLimit is), and counting one
        /// CPU per run would quietly hold 8 runs that sleep or wait on I/O to the number of cores.
        /// Ray keeps its own default of one CPU per run, which its scheduler needs.
        /// </param>
        public static async Task<ClusterConnection> OpenAsync(BackendSettings settings, bool cpusPerTaskGiven, RunnerSetup host, Action<string> warn, CancellationToken cancellationToken)
        {
            // Warnings a backend raises later, on its own threads (a head that stopped answering), wait
            // here until a cmdlet on the pipeline thread writes them (TakeWarnings).
            var later = new ConcurrentQueue<string>();
            var backend = settings with { Warn = later.Enqueue };
            var runner = await RunnerHost.OpenAsync(host with { Backend = backend, CpusPerTaskGiven = cpusPerTaskGiven, Warn = warn }, cancellationToken).ConfigureAwait(false);
            return new ClusterConnection(settings with { NumCpusPerTask = runner.NumCpusPerTask }, runner) { _warnings = later };
        }

        ConcurrentQueue<string> _warnings = new ConcurrentQueue<string>();

        /// <summary>What the backend reports for -Verbose (its <see cref="BackendSettings.Log"/>); cmdlets write it after each awaited call.</summary>
        internal ConcurrentQueue<string>? Notes { get; set; }

        /// <summary>The backend's warnings since the last call, oldest first (for WriteWarning on the pipeline thread).</summary>
        public IReadOnlyList<string> TakeWarnings()
        {
            var taken = new List<string>();
            while (_warnings.TryDequeue(out var warning)) taken.Add(warning);
            return taken;
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
            if (named.KeepJobs && wanted.KeepJobs != Settings.KeepJobs) return false;
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
            HasToken = Backend.Abilities.SendsToken || !string.IsNullOrEmpty(Settings.Token),
            IsConnected = !IsDisposed && Backend.IsInitialized,
            StartedByRayRunner = Backend.Abilities.Cluster?.StartedCluster == true,
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
        public bool KeepJobs;
    }
}
