using System;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// Everything <see cref="RunnerHost.OpenAsync"/> needs to build a store, a backend and a runner.
    /// A host (the PowerShell module, the crash-test host, a C# program) says what it wants here and
    /// nothing else composes the three, so every host records runs and builds backends the same way.
    /// </summary>
    public sealed record RunnerSetup
    {
        /// <summary>Which backend, where, and how many runs at once.</summary>
        public BackendSettings Backend { get; init; } = new BackendSettings();

        /// <summary>The run store's folder; null means <c>$RAYRUNNER_HOME</c>, else <c>~/.rayrunner</c>.</summary>
        public string? StoreRoot { get; init; }

        /// <summary>The command template for runs that do not give their own.</summary>
        public string? Entrypoint { get; init; }

        /// <summary>
        /// Builds the backend instead of <see cref="BackendFactory"/>: for hosts that bring their own
        /// (a test fake, a wrapper that injects faults). It gets the settings with
        /// <see cref="BackendSettings.LogPathFor"/> already pointing into the store. Null in production.
        /// </summary>
        public Func<BackendSettings, CancellationToken, Task<IRayBackend>>? BuildBackend { get; init; }

        /// <summary>
        /// False when the caller left the CPUs per run unset: on the local backend a run then
        /// reserves none, so MaxConcurrent is the limit (runs that sleep or wait on I/O are not held
        /// to the number of cores). Ray keeps its default of one CPU per run, which its scheduler needs.
        /// </summary>
        public bool CpusPerTaskGiven { get; init; } = true;

        /// <summary>Receives the one-line warning when Auto falls back to the local backend.</summary>
        public Action<string>? Warn { get; init; }
    }
}
