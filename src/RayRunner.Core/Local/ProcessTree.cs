using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading;

namespace RayRunner.Core.Local
{
    /// <summary>Ends a run's whole process tree: the child, its children, and theirs.</summary>
    /// <remarks>
    /// How, and why this way:
    /// <list type="number">
    /// <item>Core targets netstandard2.0, which lacks <c>Process.Kill(bool entireProcessTree)</c>; but
    /// the module runs on PowerShell 7 (.NET 8+) where it exists, so it is called by reflection. On
    /// Unix it stops each process (SIGSTOP) before listing its children, so nothing forks away
    /// between the listing and the kill; on Windows it walks the parent links.</item>
    /// <item>Windows PowerShell 5.1 (.NET Framework) has no such method: <c>taskkill /T /F</c> does
    /// the same walk.</item>
    /// <item>A tree walk misses processes whose parent already exited (they are re-parented to init).
    /// On Linux each run is started in its own session (posix_spawn's SETSID, or setsid), which every descendant inherits, so
    /// after the tree kill any process left in that session is killed too.</item>
    /// </list>
    /// </remarks>
    internal static class ProcessTree
    {
        static readonly MethodInfo? KillEntireTree =
            typeof(Process).GetMethod("Kill", BindingFlags.Public | BindingFlags.Instance, null, new[] { typeof(bool) }, null);

        static readonly bool OnWindows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        /// <param name="pid">The run's root process.</param>
        /// <param name="identity">Its identity when started: nothing is killed if the pid now names another process.</param>
        /// <param name="handle">This process's own handle to it, when it started it.</param>
        /// <param name="sessionLeader">The root was started as a session leader (Linux, setsid): sweep the session too.</param>
        public static void Kill(int pid, string? identity, Process? handle, bool sessionLeader)
        {
            long rootStart = 0;
            if (ProcStat.IsAvailable && sessionLeader)
                rootStart = ProcStat.Read(pid)?.StartTicks ?? 0;

            if (ProcessIdentity.IsRunning(pid, identity))
                KillTree(pid, handle);

            if (ProcStat.IsAvailable && sessionLeader)
                SweepSession(pid, rootStart);
        }

        static void KillTree(int pid, Process? handle)
        {
            Process? owned = null;
            try
            {
                var process = handle;
                if (process == null)
                {
                    try { process = owned = Process.GetProcessById(pid); }
                    catch (ArgumentException) { return; } // already gone
                }

                if (KillEntireTree != null)
                {
                    try
                    {
                        KillEntireTree.Invoke(process, new object[] { true });
                        return;
                    }
                    catch (TargetInvocationException ex) when (ex.InnerException is InvalidOperationException || ex.InnerException is Win32Exception || ex.InnerException is AggregateException)
                    {
                        // Exited meanwhile, or some of the tree could not be killed: fall through to the
                        // platform's own means so that nothing is left that can be reached.
                    }
                }

                if (OnWindows)
                {
                    TaskKill(pid);
                    return;
                }
                if (ProcStat.IsAvailable)
                {
                    foreach (var descendant in LinuxDescendants(pid)) KillOne(descendant);
                }
                try { process.Kill(); }
                catch (InvalidOperationException) { }
                catch (Win32Exception) { }
            }
            finally
            {
                owned?.Dispose();
            }
        }

        static readonly TimeSpan SweepLimit = TimeSpan.FromSeconds(5);

        /// <summary>Kills what is left in the run's session: orphans of the tree (Linux).</summary>
        /// <remarks>
        /// Needed even after Kill(true): .NET counts a process as a child only if it started strictly
        /// later than its parent, so a child forked within the same clock tick is missed. Repeated
        /// until no member is alive, not a fixed number of rounds: kill() only queues the signal, and
        /// a process on another CPU can still complete a fork before it dies; once it is a zombie it
        /// cannot, and its last child is visible to the next round.
        /// </remarks>
        static void SweepSession(int sessionId, long rootStartTicks)
        {
            var deadline = DateTime.UtcNow + SweepLimit;
            while (true)
            {
                var left = ProcStat.All()
                    .Where(s => s.SessionId == sessionId && !s.IsDead && s.StartTicks >= rootStartTicks && s.Pid != ProcessIdentity.Current.Pid)
                    .Select(s => s.Pid)
                    .ToList();
                if (left.Count == 0 || DateTime.UtcNow > deadline) return;
                foreach (var pid in left) KillOne(pid);
                Thread.Sleep(5); // let the SIGKILLs land before looking again
            }
        }

        static IEnumerable<int> LinuxDescendants(int root)
        {
            var children = ProcStat.All().GroupBy(s => s.ParentPid).ToDictionary(g => g.Key, g => g.Select(s => s.Pid).ToList());
            var result = new List<int>();
            var stack = new Stack<int>();
            stack.Push(root);
            while (stack.Count > 0)
            {
                if (!children.TryGetValue(stack.Pop(), out var kids)) continue;
                foreach (var kid in kids)
                {
                    result.Add(kid);
                    stack.Push(kid);
                }
            }
            return result;
        }

        static void KillOne(int pid)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (ArgumentException) { }
            catch (InvalidOperationException) { }
            catch (Win32Exception) { }
        }

        static void TaskKill(int pid)
        {
            try
            {
                using var taskkill = Process.Start(new ProcessStartInfo("taskkill", "/T /F /PID " + pid.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    UseShellExecute = false,
                    CreateNoWindow = true,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                });
                taskkill?.WaitForExit(10000);
            }
            catch (Win32Exception) { }
        }
    }
}
