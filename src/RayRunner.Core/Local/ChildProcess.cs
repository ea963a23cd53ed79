using System;
using System.Diagnostics;
using System.Threading.Tasks;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// The root process of a run this backend started: its pid, one signal when it ends, and its
    /// exit code. Two kinds: <see cref="ProcessClassChild"/> (System.Diagnostics.Process: the piped
    /// launcher, and the detached one where <see cref="SessionSpawn"/> is not available) and
    /// <see cref="SessionSpawn"/> (Linux: posix_spawn straight into a new session, no setsid exec).
    /// </summary>
    internal abstract class ChildProcess : IDisposable
    {
        public abstract int Id { get; }

        /// <summary>The Process object, for the piped launcher's output and the tree kill; null when there is none.</summary>
        public abstract Process? Handle { get; }

        /// <summary>
        /// The code the process ended with (128 + n for a process killed by signal n); waits up to
        /// <paramref name="timeout"/> for the end to be reaped, then throws InvalidOperationException.
        /// </summary>
        public abstract int WaitForExitCode(TimeSpan timeout);

        public abstract void Dispose();
    }

    /// <summary>A run's root process started through System.Diagnostics.Process.</summary>
    internal sealed class ProcessClassChild : ChildProcess
    {
        readonly Process _process;

        ProcessClassChild(Process process) => _process = process;

        /// <summary>Starts the process; <paramref name="onExited"/> runs once, on the thread pool, when it ends.</summary>
        public static ProcessClassChild Start(ProcessStartInfo startInfo, Action onExited)
        {
            var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
            process.Exited += (_, __) => _ = Task.Run(onExited);
            try
            {
                if (!process.Start()) throw new InvalidOperationException("no process was started");
            }
            catch
            {
                process.Dispose();
                throw;
            }
            return new ProcessClassChild(process);
        }

        public override int Id => _process.Id;
        public override Process? Handle => _process;

        public override int WaitForExitCode(TimeSpan timeout)
        {
            if (!_process.WaitForExit((int)timeout.TotalMilliseconds))
                throw new InvalidOperationException($"process {_process.Id} has ended but its exit code could not be read");
            return _process.ExitCode;
        }

        public override void Dispose() => _process.Dispose();
    }
}
