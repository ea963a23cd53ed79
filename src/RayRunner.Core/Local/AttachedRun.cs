using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// A local run that this backend instance did not start (another PowerShell session, a runbook
    /// step, a host that has since died), followed through the files and pids in its locator.
    /// </summary>
    /// <remarks>
    /// Another process's child cannot be waited on, so its state is polled, with a backoff from
    /// 50 ms to 1 s. A run whose process is gone without an exit code is failed at once when its host
    /// is gone too (it died with its host), and after a short grace when the host lives (which may be
    /// about to record the exit code, as the piped launcher does).
    /// </remarks>
    internal sealed class AttachedRun
    {
        static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(50);
        static readonly TimeSpan LastPoll = TimeSpan.FromSeconds(1);
        internal static TimeSpan Grace = TimeSpan.FromSeconds(5);

        readonly string _runId;
        readonly LocalLocator _locator;
        readonly TaskCompletionSource<TaskOutput> _outcome = new TaskCompletionSource<TaskOutput>(TaskCreationOptions.RunContinuationsAsynchronously);
        DateTimeOffset? _goneSince;

        public AttachedRun(string runId, LocalLocator locator, CancellationToken lifetime)
        {
            _runId = runId;
            _locator = locator;
            _ = WatchAsync(lifetime);
        }

        /// <summary>A run looked at once, not followed (see <see cref="LookOnce"/>).</summary>
        AttachedRun(string runId, LocalLocator locator)
        {
            _runId = runId;
            _locator = locator;
        }

        /// <summary>
        /// One look at a run through its files, without following it and without writing anything:
        /// its final output when its exit file says it has ended (or it died with its host), else null
        /// (pending, running, or ended a moment ago without a record yet). For readers with no backend.
        /// </summary>
        public static TaskOutput? LookOnce(string runId, IReadOnlyDictionary<string, string> locator) =>
            LocalLocator.From(locator) is { } found ? new AttachedRun(runId, found).Check() : null;

        public Task<TaskOutput> Completion => _outcome.Task;

        /// <summary>pending until the run's process is seen, running after.</summary>
        public string Phase { get; private set; } = RunStatus.Pending;

        RunFiles Files => _locator.Files;

        async Task WatchAsync(CancellationToken lifetime)
        {
            var backoff = new Backoff(FirstPoll, LastPoll);
            try
            {
                while (true)
                {
                    var output = Check();
                    if (output != null)
                    {
                        _outcome.TrySetResult(output);
                        return;
                    }
                    await backoff.DelayAsync(lifetime).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                _outcome.TrySetException(new ObjectDisposedException(nameof(LocalProcessBackend), $"The local backend watching run {_runId} was disposed; the run itself is not affected."));
            }
            catch (Exception ex)
            {
                _outcome.TrySetException(ex);
            }
        }

        /// <summary>One look at the run: its final output, or null while it is pending or running.</summary>
        internal TaskOutput? Check()
        {
            var pidRecord = Files.ReadPid();
            var exit = Files.ReadExit();
            if (exit != null) return Settle(exit, pidRecord?.StartedAt);

            var (pid, identity) = RunningProcess(pidRecord);
            var now = DateTimeOffset.UtcNow;
            if (pid.HasValue)
            {
                Phase = RunStatus.Running;
                if (ProcessIdentity.IsRunning(pid.Value, identity))
                {
                    _goneSince = null;
                    return null;
                }
                exit = Files.ReadExit(); // written just before the process ended
                if (exit != null) return Settle(exit, pidRecord?.StartedAt);
                if (Files.IsCancelled) return RunOutcome.Cancelled(_runId, pidRecord?.StartedAt, now);
                var hostAlive = HostIsAlive();
                if (hostAlive)
                {
                    _goneSince ??= now;
                    if (now - _goneSince.Value < Grace) return null;
                }
                var message = hostAlive
                    ? $"The run's process (pid {pid.Value}) ended without recording an exit code in {Files.Exit}, so how it ended is unknown."
                    : $"The run's process (pid {pid.Value}) ended without recording an exit code, and the process that started it ({HostText()}) is gone: the run died with its host.";
                return RunOutcome.NotStarted(_runId, RunStatus.Failed, message + RunOutcome.LastLines(Files), now)
                    .With(startedAt: pidRecord?.StartedAt);
            }

            Phase = RunStatus.Pending;
            if (Files.IsCancelled) return RunOutcome.NotStarted(_runId, RunStatus.Cancelled, "The run was cancelled before it started.", now);
            if (HostIsAlive()) return null; // still waiting for a slot in its host
            if (Files.ReadPid() != null || Files.ReadExit() != null) return null; // started just now: next look settles it
            return RunOutcome.NotStarted(_runId, RunStatus.Failed,
                $"The run never started: it was waiting for a slot in the process that submitted it ({HostText()}), and that process is gone: the run died with its host. Submit it again.", now);
        }

        /// <summary>
        /// The process that runs the command: the one that claimed the run (its own claim file is the
        /// authority, since of two launches only the claimer runs anything), else what the locator
        /// or the host's pid file say. A start token is trusted only for the process it was read from.
        /// </summary>
        (int? Pid, string? Identity) RunningProcess(PidRecord? pidRecord)
        {
            var recordedPid = _locator.Pid ?? pidRecord?.ProcessId;
            var recordedIdentity = _locator.ProcessStart ?? pidRecord?.Identity;
            var claimer = Files.ReadStartedPid();
            if (claimer == null || claimer == recordedPid) return (recordedPid, recordedIdentity);
            return (claimer, pidRecord?.ProcessId == claimer ? pidRecord.Identity : null);
        }

        TaskOutput Settle(ExitRecord exit, DateTimeOffset? startedAt)
        {
            var completedAt = exit.RecordedAt ?? DateTimeOffset.UtcNow;
            if (exit.IsCancelled || Files.IsCancelled) return RunOutcome.Cancelled(_runId, startedAt, completedAt);
            if (exit.IsStartFailure)
                return RunOutcome.NotStarted(_runId, RunStatus.Failed, "The run could not start." + RunOutcome.LastLines(Files), completedAt);
            return RunOutcome.FromExit(_runId, exit.Code!.Value, _locator.Program, Files, startedAt, completedAt);
        }

        /// <summary>Stops the run's whole process tree, wherever it was started from. Safe to repeat.</summary>
        public async Task CancelAsync(CancellationToken cancellationToken)
        {
            if (Completion.IsCompleted || Files.ReadExit() != null) return;
            // The marker comes first: the run's own host then reports cancelled, not a signal, and
            // does not start the run if it was still waiting for a slot there.
            Files.MarkCancelled();
            var pidRecord = Files.ReadPid();
            var (pid, identity) = RunningProcess(pidRecord);
            if (pid.HasValue)
            {
                ProcessTree.Kill(pid.Value, identity, null, _locator.Session);
                if (ProcessIdentity.IsRunning(pid.Value, identity))
                    throw new InvalidOperationException($"Could not stop run {_runId}: its process {pid.Value} is still running (no permission to end it?).");
            }
            Files.WriteExitIfAbsent(ExitRecord.CancelledWord);
            await Waits.EndsFirstAsync(Completion, cancellationToken, timeout: TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }

        bool HostIsAlive() => _locator.HostPid.HasValue && ProcessIdentity.IsRunning(_locator.HostPid.Value, _locator.HostStart);

        string HostText() => _locator.HostPid.HasValue ? "pid " + _locator.HostPid.Value : "unknown";
    }
}
