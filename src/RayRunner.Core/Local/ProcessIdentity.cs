using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// Names a process so that a later look-up, possibly from another process, can tell it from an
    /// unrelated one that reused its pid: the pid plus the process's start time.
    /// </summary>
    /// <remarks>
    /// On Linux the start time is read from /proc/&lt;pid&gt;/stat (clock ticks since boot) together with
    /// the boot id: exact, and the same value whoever reads it. Elsewhere it is Process.StartTime,
    /// compared with a tolerance of one second.
    /// </remarks>
    internal static class ProcessIdentity
    {
        static readonly bool OnLinux = RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && Directory.Exists("/proc/self");
        static readonly Lazy<string> BootId = new Lazy<string>(() =>
        {
            try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); }
            catch (IOException) { return "boot"; }
            catch (UnauthorizedAccessException) { return "boot"; }
        });

        public static bool IsLinux => OnLinux;

        /// <summary>The identity of a running process, or null when no such process is alive.</summary>
        public static string? Of(int pid) => Of(pid, includeEnded: false);

        /// <summary>The identity of a process just started, even if it has already ended (a zombie not yet reaped).</summary>
        public static string? Capture(int pid) => Of(pid, includeEnded: true);

        static string? Of(int pid, bool includeEnded)
        {
            if (OnLinux)
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

        /// <summary>Is the process that had this identity still running? An empty identity trusts the pid alone.</summary>
        public static bool IsAlive(int pid, string? identity)
        {
            var now = Of(pid);
            if (now == null) return false;
            if (string.IsNullOrEmpty(identity) || now == identity) return true;
            if (now.StartsWith("start:", StringComparison.Ordinal) && identity!.StartsWith("start:", StringComparison.Ordinal)
                && long.TryParse(now.Substring(6), NumberStyles.Integer, CultureInfo.InvariantCulture, out var a)
                && long.TryParse(identity.Substring(6), NumberStyles.Integer, CultureInfo.InvariantCulture, out var b))
                return Math.Abs(a - b) <= TimeSpan.TicksPerSecond;
            return false;
        }

        public static int CurrentPid { get; } = Process.GetCurrentProcess().Id;
        public static string? Current => Of(CurrentPid);
    }

    /// <summary>The fields of /proc/&lt;pid&gt;/stat that RayRunner uses (Linux only).</summary>
    internal sealed class ProcStat
    {
        public int Pid;
        public char State;
        public int ParentPid;
        public int SessionId;
        public long StartTicks;

        /// <summary>A zombie has ended and only waits to be reaped: it counts as gone.</summary>
        public bool IsDead => State == 'Z' || State == 'X' || State == 'x';

        public static ProcStat? Read(int pid)
        {
            string text;
            try
            {
                text = File.ReadAllText("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/stat");
            }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
            return Parse(pid, text);
        }

        /// <summary>"pid (comm) state ppid pgrp session ... starttime(22nd) ..."; comm may hold spaces and parentheses.</summary>
        internal static ProcStat? Parse(int pid, string text)
        {
            var close = text.LastIndexOf(')');
            if (close < 0 || close + 2 >= text.Length) return null;
            var fields = text.Substring(close + 2).Split(' ');
            if (fields.Length < 20) return null;
            if (!int.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ppid)) return null;
            if (!int.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var sid)) return null;
            if (!long.TryParse(fields[19], NumberStyles.Integer, CultureInfo.InvariantCulture, out var start)) return null;
            return new ProcStat { Pid = pid, State = fields[0].Length > 0 ? fields[0][0] : '?', ParentPid = ppid, SessionId = sid, StartTicks = start };
        }

        public static IEnumerable<ProcStat> All()
        {
            IEnumerable<string> dirs;
            try
            {
                dirs = Directory.EnumerateDirectories("/proc");
            }
            catch (IOException) { yield break; }
            foreach (var dir in dirs)
            {
                if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
                var stat = Read(pid);
                if (stat != null) yield return stat;
            }
        }
    }
}
