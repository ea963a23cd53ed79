using System;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// The one place that composes RayRunner: a file run store, the backend chosen by the settings
    /// (its logs written into the store's run folders, so any process finds them), and a runner
    /// over both. A failure leaves nothing behind: a backend that was built is shut down (stopping
    /// only a cluster it started) and disposed.
    /// </summary>
    /// <remarks>
    /// One lifetime: the runner's token is made here first, so the backend is built with it (it
    /// stops watching when the runner is disposed), and the runner owns and ends it; each run's
    /// token is its child, and each call's is combined with both.
    /// </remarks>
    public static class RunnerHost
    {
        public static async Task<ExperimentRunner> OpenAsync(RunnerSetup setup, CancellationToken cancellationToken)
        {
            if (setup == null) throw new ArgumentNullException(nameof(setup));
            var store = new FileRunStore(setup.StoreRoot);
            var lifetime = new CancellationTokenSource();
            var settings = setup.Backend with
            {
                Lifetime = lifetime.Token,
                LogPathFor = setup.Backend.LogPathFor ?? store.LogPathFor,
                StartedHeads = setup.Backend.StartedHeads ?? new StartedHeadLedger(System.IO.Path.Combine(store.Root, "heads")),
            };
            IRayBackend backend;
            try
            {
                backend = setup.BuildBackend != null
                    ? await setup.BuildBackend(settings, cancellationToken).ConfigureAwait(false)
                    : await BackendFactory.CreateAsync(settings, setup.Warn, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                lifetime.Dispose();
                throw;
            }
            if (!setup.CpusPerTaskGiven && backend.Name == Local.LocalProcessBackend.BackendName)
                settings = settings with { NumCpusPerTask = 0 };
            FirstRunWarmup.Start(backend.Name);
            try
            {
                return await ExperimentRunner.CreateAsync(backend, new RayRunnerOptions
                {
                    MaxConcurrent = settings.MaxConcurrent,
                    NumCpusPerTask = settings.NumCpusPerTask,
                    NumGpusPerTask = settings.NumGpusPerTask,
                    Entrypoint = setup.Entrypoint,
                    Store = store,
                    Lifetime = lifetime,
                }, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                lifetime.Cancel();
                await UndoAsync(backend).ConfigureAwait(false);
                lifetime.Dispose();
                throw;
            }
        }

        /// <summary>The runner never came to be: undo whatever init did (a head it started), best effort.</summary>
        static async Task UndoAsync(IRayBackend backend)
        {
            // Bounded rather than tied to the caller's token: the caller may be the one that
            // cancelled, and a head left running is worse than a short wait.
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                if (backend.IsInitialized) await backend.ShutdownAsync(bound.Token).ConfigureAwait(false);
            }
            catch
            {
                // The original error is the one worth reporting.
            }
            (backend as IDisposable)?.Dispose();
        }
    }
}
