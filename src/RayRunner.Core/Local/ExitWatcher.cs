using System;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// Notices that a started run's process has ended, by two ways (the Exited event, and a watchdog
    /// that asks the OS), reads its end once (<see cref="RunEnding"/>) and hands it to the backend's
    /// settle step. A run whose process has ended never leaves its waiters waiting.
    /// </summary>
    internal sealed class ExitWatcher
    {
        /// <summary>How long the watchdog lets a claimed exit go unsettled before it settles the run itself.</summary>
        static readonly TimeSpan StuckExitGrace = TimeSpan.FromSeconds(10);

        readonly object _backendGate;
        readonly Func<RunFiles, string?, LocalLocator> _newLocator;
        readonly Action<LocalRun, TaskOutput> _settle;
        readonly CancellationToken _lifetime;

        /// <param name="backendGate">The backend's lock, under which a run is started.</param>
        /// <param name="settle">The backend's one place a started run ends.</param>
        public ExitWatcher(object backendGate, Func<RunFiles, string?, LocalLocator> newLocator, Action<LocalRun, TaskOutput> settle, CancellationToken lifetime)
        {
            _backendGate = backendGate;
            _newLocator = newLocator;
            _settle = settle;
            _lifetime = lifetime;
        }

        /// <summary>
        /// The second way a run's end is noticed. The Exited event is the first and usually wins, but a
        /// run must never hang on one missed event, so the OS is also asked, with a backoff from 100 ms
        /// to 2 s, whether the process is gone (or a zombie nobody reaped).
        /// </summary>
        public async Task WatchAsync(LocalRun run)
        {
            var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2));
            try
            {
                while (!run.Completion.Task.IsCompleted)
                {
                    await Waits.EndsFirstAsync(run.Completion.Task, _lifetime, timeout: backoff.Next()).ConfigureAwait(false);
                    if (run.Completion.Task.IsCompleted || _lifetime.IsCancellationRequested) return;
                    if (!ProcessIdentity.IsRunning(run.Pid, run.Identity))
                    {
                        await OnExitedAsync(run).ConfigureAwait(false);
                        // The Exited event may have claimed the end first. If that path has still not
                        // settled the run well after the process is gone, settle it here: a run whose
                        // process has ended must never leave its waiters waiting (a rare hang seen in
                        // the soak loop: the exit file written, the completion never set).
                        if (!await Waits.EndsFirstAsync(run.Completion.Task, _lifetime, timeout: StuckExitGrace).ConfigureAwait(false)
                            && !_lifetime.IsCancellationRequested)
                        {
                            run.Files.AppendToLog($"RayRunner: the end of this run (pid {run.Pid}) was noticed but not settled within {StuckExitGrace.TotalSeconds:0} s; settled from its exit file.");
                            _settle(run, await RunEnding.ReadAsync(run, _newLocator, _lifetime).ConfigureAwait(false));
                        }
                        return;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // The backend was disposed.
            }
        }

        /// <summary>The process ended (the first signal of it claims the end): read the end and settle the run.</summary>
        public async Task OnExitedAsync(LocalRun run)
        {
            if (!run.TryClaimExit()) return;
            TaskOutput? output = null;
            try
            {
                // The Exited event can fire before the start's bookkeeping is done; the start runs
                // under the backend's lock, so taking it once means that bookkeeping is done.
                lock (_backendGate) { }
                output = await RunEnding.ReadAsync(run, _newLocator, _lifetime).ConfigureAwait(false);
            }
            finally
            {
                // Whatever failed above (this runs on a fire-and-forget task, where an exception would
                // vanish), the run is settled: its waiters never wait for an end that already came.
                _settle(run, output ?? RunOutcome.NotStarted(run.RunId, RunStatus.Failed,
                    "The run ended but RayRunner failed while recording its end; its log and exit file are in the run store.", DateTimeOffset.UtcNow)
                    .With(startedAt: run.StartedAt));
            }
        }
    }
}
