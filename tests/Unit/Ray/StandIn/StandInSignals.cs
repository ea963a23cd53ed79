using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace RayRunner.Tests.Unit.Ray.StandIn
{
    /// <summary>
    /// What Ray's job supervisor does to a driver it stops: a signal to the entrypoint and all its
    /// descendants. The stand-in starts each driver as the leader of its own process group
    /// (setsid), so one kill(-pgid) reaches the whole tree.
    /// </summary>
    internal static class StandInSignals
    {
        public const int SigTerm = 15;
        public const int SigKill = 9;

        /// <summary>util-linux setsid at a fixed place; null where there is none (then only the driver itself is signalled).</summary>
        public static readonly string? Setsid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);

        [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
        static extern int SysKill(int pid, int signal);

        /// <summary>Signals the driver's process group (or the driver alone without setsid); a group already gone is fine.</summary>
        public static void Send(int driverPid, int signal)
        {
            try
            {
                if (SysKill(Setsid != null ? -driverPid : driverPid, signal) != 0 && Setsid != null) SysKill(driverPid, signal);
            }
            catch (DllNotFoundException) { }
            catch (EntryPointNotFoundException) { }
        }
    }
}
