using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text.Json.Serialization;

namespace RayRunner.Core
{
    /// <summary>
    /// A process as the run store remembers it: its id, when it started and on which machine. The
    /// start time is what keeps a reused pid from being mistaken for the process that wrote a claim
    /// (or, for the local backend, for a run's child process).
    /// </summary>
    public sealed class ProcessIdentity : IEquatable<ProcessIdentity>
    {
        public int Pid { get; init; }

        /// <summary>
        /// An opaque token for the process's start (see <see cref="StartTokenOf"/>); compared with
        /// <see cref="IsRunning"/>, never parsed by callers.
        /// </summary>
        public string StartTime { get; init; } = "";

        /// <summary>The machine the process ran on; a process elsewhere cannot be checked from here.</summary>
        public string Host { get; init; } = "";

        static readonly Lazy<ProcessIdentity> _current = new Lazy<ProcessIdentity>(() =>
        {
            using var self = Process.GetCurrentProcess();
            return Of(self.Id) ?? new ProcessIdentity { Pid = self.Id, StartTime = "", Host = Environment.MachineName };
        });

        /// <summary>This process.</summary>
        public static ProcessIdentity Current => _current.Value;

        /// <summary>The identity of a live process on this machine, or null when no such process exists.</summary>
        public static ProcessIdentity? Of(int pid)
        {
            var start = StartTokenOf(pid);
            return start == null ? null : new ProcessIdentity { Pid = pid, StartTime = start, Host = Environment.MachineName };
        }

        /// <summary>
        /// True when this exact process (same pid and start) still runs. A process recorded on
        /// another machine is assumed alive: the store cannot see it, and guessing "dead" could run
        /// work twice.
        /// </summary>
        [JsonIgnore]
        public bool IsAlive =>
            !string.Equals(Host, Environment.MachineName, StringComparison.OrdinalIgnoreCase) || IsRunning(Pid, StartTime);

        static readonly Lazy<string> BootId = new Lazy<string>(() =>
        {
            try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); }
            catch (IOException) { return "boot"; }
            catch (UnauthorizedAccessException) { return "boot"; }
        });

        /// <summary>
        /// What names a process's start, so a later look-up (from any process) can tell it from an
        /// unrelated one that reused its pid. On Linux: the boot id and the start in clock ticks from
        /// /proc/&lt;pid&gt;/stat, exact whoever reads it. Elsewhere: Process.StartTime, compared with a
        /// second's tolerance. Null when no such process exists (or, unless
        /// <paramref name="includeEnded"/>, when it has ended and only waits to be reaped).
        /// </summary>
        public static string? StartTokenOf(int pid, bool includeEnded = false)
        {
            if (pid <= 0) return null;
            if (ProcStat.IsAvailable)
            {
                var stat = ProcStat.Read(pid);
                return stat == null || (stat.IsDead && !includeEnded) ? null : "linux:" + BootId.Value + ":" + stat.StartTicks.ToString(CultureInfo.InvariantCulture);
            }
            try
            {
                using var process = Process.GetProcessById(pid);
                return process.HasExited && !includeEnded ? null : "start:" + process.StartTime.ToUniversalTime().Ticks.ToString(CultureInfo.InvariantCulture);
            }
            catch (ArgumentException) { return null; }          // no such process
            catch (InvalidOperationException) { return null; }  // exited meanwhile
            catch (System.ComponentModel.Win32Exception) { return null; }
        }

        /// <summary>Is the process that had this start token still running? An empty token trusts the pid alone.</summary>
        public static bool IsRunning(int pid, string? startToken)
        {
            var now = StartTokenOf(pid);
            if (now == null) return false;
            if (string.IsNullOrEmpty(startToken) || now == startToken) return true;
            return now.StartsWith("start:", StringComparison.Ordinal) && startToken!.StartsWith("start:", StringComparison.Ordinal)
                && long.TryParse(now.Substring(6), NumberStyles.Integer, CultureInfo.InvariantCulture, out var a)
                && long.TryParse(startToken.Substring(6), NumberStyles.Integer, CultureInfo.InvariantCulture, out var b)
                && Math.Abs(a - b) <= TimeSpan.TicksPerSecond;
        }

        public bool Equals(ProcessIdentity? other) =>
            other != null && other.Pid == Pid && other.StartTime == StartTime &&
            string.Equals(other.Host, Host, StringComparison.OrdinalIgnoreCase);

        public override bool Equals(object? obj) => Equals(obj as ProcessIdentity);
        public override int GetHashCode() => Pid ^ StartTime.GetHashCode();
        public override string ToString() => $"pid {Pid} on {Host} (started {StartTime})";
    }
}
