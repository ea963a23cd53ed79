using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// How a local run's end is read: its output drained, a cancel told apart from a crash, a launch
    /// that lost the start claim to another launch followed to that launch's end, the exit code and
    /// the RAYRUNNER_RESULT line turned into the run's output. Never throws: a result that cannot be
    /// read is a failed run that says why.
    /// </summary>
    internal static class RunEnding
    {
        static readonly TimeSpan OutputDrainWait = TimeSpan.FromSeconds(2);

        public static async Task<TaskOutput> ReadAsync(LocalRun run, Func<RunFiles, string?, LocalLocator> newLocator, CancellationToken lifetime)
        {
            var completedAt = DateTimeOffset.UtcNow;
            TaskOutput output;
            try
            {
                if (run.OutputCopied != null)
                    await Waits.EndsFirstAsync(run.OutputCopied, lifetime, timeout: OutputDrainWait).ConfigureAwait(false);
                if (run.CancelRequested || run.Files.IsCancelled)
                {
                    run.Files.WriteExitIfAbsent(ExitRecord.CancelledWord);
                    output = RunOutcome.Cancelled(run.RunId, run.StartedAt, completedAt);
                }
                else if (LostTheClaim(run) is int winner)
                {
                    // Another launch of this run claimed it first (a host that died right after
                    // starting it, then this one took the run over): nothing ran here. Follow that
                    // launch to its end; the pid file names it from now on.
                    run.Files.WritePid(winner, ProcessIdentity.StartTokenOf(winner), DateTimeOffset.UtcNow);
                    var locator = newLocator(run.Files, run.Program);
                    locator.Pid = winner;
                    locator.Session = run.SessionLeader;
                    output = await new AttachedRun(run.RunId, locator, lifetime).Completion.ConfigureAwait(false);
                }
                else
                {
                    // The trampoline's record is the command's own exit code; without one (the piped
                    // launcher, or a trampoline killed from outside) the process's code is recorded.
                    var code = run.Files.ReadExit()?.Code ?? ExitCodeOf(run.Process!);
                    run.Files.WriteExitIfAbsent(code.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    output = RunOutcome.FromExit(run.RunId, code, run.Program, run.Files, run.StartedAt, completedAt);
                }
            }
            catch (Exception ex)
            {
                // Never lose the run: a result that cannot be read is a failed run that says why.
                output = RunOutcome.NotStarted(run.RunId, RunStatus.Failed, $"The run ended but its result could not be read: {ex.Message}", completedAt)
                    .With(startedAt: run.StartedAt);
            }
            return output;
        }

        /// <summary>The pid of the launch that claimed the run when this run's own process lost the claim (ran nothing), else null.</summary>
        static int? LostTheClaim(LocalRun run)
        {
            // Not "no exit file yet": the winner may already have finished and written it by the time
            // this launch ran (a slow host), and the run must still point at the winner. A command of
            // the user's that exits 75 is told apart by the claim: then it holds this launch's own pid.
            if (run.Mode != LaunchMode.Detached) return null;
            if (ExitCodeOf(run.Process!) != ProcessLauncher.LostClaimExitCode) return null;
            var claimer = run.Files.ReadStartedPid();
            // The winner creates the claim file and then writes its pid: give that write a moment.
            for (var i = 0; claimer == null && i < 100 && File.Exists(run.Files.Started); i++)
            {
                Thread.Sleep(10);
                claimer = run.Files.ReadStartedPid();
            }
            return claimer != null && claimer != run.Pid ? claimer : null;
        }

        /// <summary>The code the process ended with; when the watchdog noticed the end first, .NET may need a moment to reap it.</summary>
        static int ExitCodeOf(ChildProcess process) => process.WaitForExitCode(TimeSpan.FromSeconds(5));

        /// <summary>The piped launcher: copies stdout and stderr, as they come, into the log.</summary>
        public static Task CopyOutput(Process process, string logPath)
        {
            try { process.StandardInput.Close(); }
            catch (IOException) { }
            var log = new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            var writeGate = new object();
            async Task Copy(Stream source)
            {
                var buffer = new byte[8192];
                int read;
                while ((read = await source.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false)) > 0)
                {
                    lock (writeGate)
                    {
                        log.Write(buffer, 0, read);
                        log.Flush();
                    }
                }
            }
            var stdout = Task.Run(() => Copy(process.StandardOutput.BaseStream));
            var stderr = Task.Run(() => Copy(process.StandardError.BaseStream));
            return Task.WhenAll(stdout, stderr).ContinueWith(_ => { lock (writeGate) log.Dispose(); }, TaskScheduler.Default);
        }
    }
}
