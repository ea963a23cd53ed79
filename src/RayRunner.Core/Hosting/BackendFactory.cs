using System;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core.Local;
using RayRunner.Core.Ray;

namespace RayRunner.Core
{
    /// <summary>
    /// Picks and builds the backend a caller asked for (<see cref="BackendChoice"/>). The one place
    /// that knows every backend, so cmdlets and C# callers choose the same way. It lives beside the
    /// composition (<see cref="RunnerHost"/>), not beside the seam, so the seam folder (Backends)
    /// knows no backend and no backend folder knows another.
    /// </summary>
    public static class BackendFactory
    {
        /// <param name="warn">Receives the one-line warning when Auto falls back to the local backend.</param>
        public static async Task<IRayBackend> CreateAsync(BackendSettings settings, Action<string>? warn, CancellationToken cancellationToken)
        {
            if (settings == null) throw new ArgumentNullException(nameof(settings));
            switch (settings.Backend)
            {
                case BackendChoice.Local:
                    return CreateLocal(settings);
                case BackendChoice.Ray:
                    // Never a silent fallback: an unavailable Ray surfaces as RayNotInstalledException
                    // when the runner checks the backend.
                    return CreateRay(settings);
                default:
                    var rayOptions = RayOptions(settings);
                    if (await RayJobsBackend.ProbeAsync(rayOptions, cancellationToken).ConfigureAwait(false))
                        return new RayJobsBackend(rayOptions);
                    if (!settings.NoAutoStart && RayJobsBackend.FindRayOnPath() != null)
                        return new RayJobsBackend(rayOptions);
                    var address = RayJobsBackend.ResolveAddress(settings.Address, Environment.GetEnvironmentVariable);
                    warn?.Invoke(
                        $"No Ray cluster answered at {address} and {(settings.NoAutoStart ? "auto-start is off" : "no 'ray' command is on PATH")}: " +
                        "running experiments as local processes. Use -Backend Ray to require Ray, or -Backend Local to silence this warning.");
                    return CreateLocal(settings);
            }
        }

        static IRayBackend CreateLocal(BackendSettings s) => new LocalProcessBackend(new LocalBackendOptions
        {
            MaxConcurrent = s.MaxConcurrent,
            NumCpus = s.NumCpus,
            NumGpus = s.NumGpus,
            LogPathFor = s.LogPathFor,
            Lifetime = s.Lifetime,
        });

        static IRayBackend CreateRay(BackendSettings s) => new RayJobsBackend(RayOptions(s));

        static RayBackendOptions RayOptions(BackendSettings s) => new RayBackendOptions
        {
            Address = s.Address,
            Token = s.Token,
            Headers = s.Headers,
            NoAutoStart = s.NoAutoStart,
            NumCpus = s.NumCpus,
            NumGpus = s.NumGpus,
            DashboardPort = s.DashboardPort,
            Log = s.Log,
            Warn = s.Warn,
            StartedHeads = s.StartedHeads,
        };
    }
}
