using System;
using System.Collections.Concurrent;
using System.Management.Automation.Runspaces;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// The module's state: one connection per PowerShell runspace. A binary module's statics are
    /// shared by every runspace of the process (thread jobs, ForEach-Object -Parallel, hosted
    /// engines); keying by runspace keeps each session's connection, throttle and runs its own,
    /// never global to the process. A runspace that closes takes its connection with it.
    /// </summary>
    internal static class ModuleSession
    {
        static readonly ConcurrentDictionary<Guid, ClusterConnection> Connections = new ConcurrentDictionary<Guid, ClusterConnection>();
        static readonly ConcurrentDictionary<Guid, bool> Watched = new ConcurrentDictionary<Guid, bool>();

        static Runspace? CurrentRunspace => Runspace.DefaultRunspace;

        /// <summary>The live connection of the calling runspace, or null.</summary>
        public static ClusterConnection? Current
        {
            get
            {
                var rs = CurrentRunspace;
                if (rs == null) return null;
                return Connections.TryGetValue(rs.InstanceId, out var c) && !c.IsDisposed ? c : null;
            }
        }

        public static void Set(ClusterConnection connection)
        {
            var rs = CurrentRunspace ?? throw new InvalidOperationException("RayRunner cmdlets must run in a PowerShell runspace.");
            Connections[rs.InstanceId] = connection;
            if (Watched.TryAdd(rs.InstanceId, true))
            {
                rs.StateChanged += (sender, e) =>
                {
                    if (e.RunspaceStateInfo.State == RunspaceState.Closed || e.RunspaceStateInfo.State == RunspaceState.Broken)
                    {
                        var id = ((Runspace)sender!).InstanceId;
                        Watched.TryRemove(id, out _);
                        if (Connections.TryRemove(id, out var gone)) gone.Dispose();
                    }
                };
            }
        }

        /// <summary>Forgets the calling runspace's connection (the caller has closed it) if it is still the one given.</summary>
        public static void Clear(ClusterConnection connection)
        {
            var rs = CurrentRunspace;
            if (rs == null) return;
            if (Connections.TryGetValue(rs.InstanceId, out var c) && ReferenceEquals(c, connection))
                Connections.TryRemove(rs.InstanceId, out _);
        }

        /// <summary>Module removal: stop watching this runspace's runs (they go on running on the backend).</summary>
        public static void DisposeCurrent()
        {
            var rs = CurrentRunspace;
            if (rs != null && Connections.TryRemove(rs.InstanceId, out var c)) c.Dispose();
        }
    }
}
