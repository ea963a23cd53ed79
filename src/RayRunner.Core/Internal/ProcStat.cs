using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;

namespace RayRunner.Core
{
    /// <summary>The fields of /proc/&lt;pid&gt;/stat that RayRunner uses (Linux only).</summary>
    internal sealed class ProcStat
    {
        /// <summary>True where /proc is there to read (Linux).</summary>
        public static bool IsAvailable { get; } = RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && Directory.Exists("/proc/self");

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
