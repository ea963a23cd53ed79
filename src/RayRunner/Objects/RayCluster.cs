using System;
using System.Management.Automation;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// The session's connection (type name <c>RayRunner.RayCluster</c>): which backend, where, and the
    /// runner's limits. Never carries the token.
    /// </summary>
    public sealed class RayCluster
    {
        public string Backend { get; internal set; } = "";
        public string Address { get; internal set; } = "";
        /// <summary>The backend asked for (Auto, Ray or Local); <see cref="Backend"/> is the one chosen.</summary>
        public string RequestedBackend { get; internal set; } = "";
        public int MaxConcurrent { get; internal set; }
        /// <summary>
        /// How many runs really run at once: <see cref="MaxConcurrent"/>, or fewer when each run
        /// reserves CPUs or GPUs the machine does not have that many of (the local backend).
        /// </summary>
        public int RunsAtOnce { get; internal set; }
        public int NumCpusPerTask { get; internal set; }
        public double NumGpusPerTask { get; internal set; }
        public bool NoAutoStart { get; internal set; }
        public bool HasToken { get; internal set; }
        public bool IsConnected { get; internal set; }
        /// <summary>True when RayRunner started this cluster itself (ray start --head); Disconnect-RayCluster stops only such a cluster.</summary>
        public bool StartedByRayRunner { get; internal set; }
        /// <summary>Runs this session's runner tracks that have not finished.</summary>
        public int ActiveRuns { get; internal set; }
        public DateTime ConnectedAt { get; internal set; }

        public override string ToString() => $"{Backend} at {Address}";

        internal PSObject ToPSObject() => PSValues.WithTypeName(this, TypeNames.RayCluster);
    }
}
