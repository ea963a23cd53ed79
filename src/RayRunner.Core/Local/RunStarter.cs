using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Threading.Tasks;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// Starts one run's process: the launch plan (<see cref="ProcessLauncher"/>), the process, the
    /// pid file, and the exit watch. A command that cannot be started is a failed run that says why,
    /// never an exception.
    /// </summary>
    internal sealed class RunStarter
    {
        readonly LocalBackendOptions _options;
        readonly LaunchMode _mode;
        readonly ExitWatcher _exits;

        public RunStarter(LocalBackendOptions options, LaunchMode mode, ExitWatcher exits)
        {
            _options = options;
            _mode = mode;
            _exits = exits;
        }

        /// <summary>
        /// Starts the run with the GPUs it was given (null: GPUs not managed); null on success, else
        /// its final output. Caller holds the backend's lock.
        /// </summary>
        public TaskOutput? TryStart(LocalRun run, IReadOnlyList<string>? gpuIds)
        {
            if (run.Files.IsCancelled)
            {
                // Cancelled from another process before it started.
                run.State = LocalRunState.Finished;
                run.Files.WriteExitIfAbsent(ExitRecord.CancelledWord);
                return RunOutcome.NotStarted(run.RunId, RunStatus.Cancelled, "The run was cancelled before it started.", DateTimeOffset.UtcNow);
            }

            var plan = ProcessLauncher.Plan(run.Spec, gpuIds, run.Files, _mode, _options.EnvironmentReader, out var error);
            if (plan == null) return FailToStart(run, error!);

            _options.BeforeLaunch?.Invoke(run.RunId);
            ChildProcess process;
            try
            {
                Action onExited = () => _ = _exits.OnExitedAsync(run);
                process = plan.SpawnArgv != null
                    ? SessionSpawn.Start(plan.SpawnArgv, plan.StartInfo.Environment, plan.StartInfo.WorkingDirectory, onExited)
                    : (ChildProcess)ProcessClassChild.Start(plan.StartInfo, onExited);
            }
            catch (Exception ex) when (ex is Win32Exception || ex is InvalidOperationException || ex is IOException || ex is UnauthorizedAccessException)
            {
                return FailToStart(run, $"Could not start '{plan.Program}': {ex.Message}");
            }

            run.Process = process;
            run.Pid = process.Id;
            run.StartedAt = DateTimeOffset.UtcNow;
            run.Identity = ProcessIdentity.StartTokenOf(run.Pid, includeEnded: true);
            run.SessionLeader = plan.SessionLeader;
            run.State = LocalRunState.Running;
            if (plan.Mode == LaunchMode.Piped) run.OutputCopied = RunEnding.CopyOutput(process.Handle!, run.Files.Log);
            try
            {
                run.Files.WritePid(run.Pid, run.Identity, run.StartedAt.Value);
            }
            catch (IOException ex)
            {
                run.Files.AppendToLog($"could not write the pid file {run.Files.Pid} ({ex.Message}); other processes cannot follow this run.");
            }
            _ = _exits.WatchAsync(run);
            return null;
        }

        /// <summary>Ends a run that never started, with the reason in its log and its exit file.</summary>
        public static TaskOutput FailToStart(LocalRun run, string message)
        {
            run.State = LocalRunState.Finished;
            run.Files.AppendToLog(message);
            run.Files.WriteExitIfAbsent(ExitRecord.StartFailedWord);
            return RunOutcome.NotStarted(run.RunId, RunStatus.Failed, message, DateTimeOffset.UtcNow);
        }
    }
}
