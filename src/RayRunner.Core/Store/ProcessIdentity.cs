using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
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
        /// An opaque token for the process's start: <c>proc:&lt;clock ticks since boot&gt;</c> on Linux
        /// (exact, from /proc/&lt;pid&gt;/stat), <c>utc:&lt;ticks&gt;</c> elsewhere. Compared as text only.
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
            var start = ReadStartTime(pid);
            return start == null ? null : new ProcessIdentity { Pid = pid, StartTime = start, Host = Environment.MachineName };
        }

        /// <summary>
        /// True when this exact process (same pid and start time) still runs. A process recorded on
        /// another machine is assumed alive: the store cannot see it, and guessing "dead" could run
        /// work twice.
        /// </summary>
        [JsonIgnore]
        public bool IsAlive
        {
            get
            {
                if (!string.Equals(Host, Environment.MachineName, StringComparison.OrdinalIgnoreCase)) return true;
                if (Pid <= 0) return false;
                var start = ReadStartTime(Pid);
                return start != null && start == StartTime;
            }
        }

        static string? ReadStartTime(int pid)
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return ReadLinuxStartTime(pid);
            try
            {
                using var process = Process.GetProcessById(pid);
                if (process.HasExited) return null;
                // Whole seconds: the platform APIs agree on them across processes.
                var ticks = process.StartTime.ToUniversalTime().Ticks;
                return "utc:" + (ticks - ticks % TimeSpan.TicksPerSecond).ToString(CultureInfo.InvariantCulture);
            }
            catch (ArgumentException) { return null; }        // no such process
            catch (InvalidOperationException) { return null; } // exited meanwhile
            catch (System.ComponentModel.Win32Exception) { return "unreadable"; } // exists, not ours to inspect
        }

        static string? ReadLinuxStartTime(int pid)
        {
            string stat;
            try
            {
                stat = File.ReadAllText("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/stat");
            }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
            // Field 2 (comm) is in parentheses and may hold spaces or ')'; fields restart after the last ')'.
            var close = stat.LastIndexOf(')');
            if (close < 0) return null;
            var fields = stat.Substring(close + 1).Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
            // After comm: state is field 3, so starttime (field 22) is index 22 - 3 = 19.
            if (fields.Length < 20) return null;
            if (fields[0] == "Z" || fields[0] == "X") return null; // a zombie has finished its work
            return "proc:" + fields[19];
        }

        public bool Equals(ProcessIdentity? other) =>
            other != null && other.Pid == Pid && other.StartTime == StartTime &&
            string.Equals(other.Host, Host, StringComparison.OrdinalIgnoreCase);

        public override bool Equals(object? obj) => Equals(obj as ProcessIdentity);
        public override int GetHashCode() => Pid ^ StartTime.GetHashCode();
        public override string ToString() => $"pid {Pid} on {Host} (started {StartTime})";
    }
}
