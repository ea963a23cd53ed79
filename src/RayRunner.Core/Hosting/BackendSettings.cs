using System;
using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>Which backend runs the experiments.</summary>
    public enum BackendChoice
    {
        /// <summary>Ray when a cluster answers or <c>ray</c> is on PATH, otherwise Local with a warning.</summary>
        Auto,
        /// <summary>Ray only: its absence is a <see cref="RayNotInstalledException"/>, never a silent fallback.</summary>
        Ray,
        /// <summary>Child processes on this machine; needs nothing but the module.</summary>
        Local,
    }

    /// <summary>Everything a caller (Connect-RayCluster, a C# program) can say about the backend to use.</summary>
    public sealed record BackendSettings
    {
        public BackendChoice Backend { get; init; } = BackendChoice.Auto;
        /// <summary>Ray dashboard URL; else RAY_API_SERVER_ADDRESS / RAY_ADDRESS when http(s), else http://127.0.0.1:8265.</summary>
        public string? Address { get; init; }
        /// <summary>Ray token; never printed, logged or stored.</summary>
        public string? Token { get; init; }
        public IReadOnlyDictionary<string, string>? Headers { get; init; }
        /// <summary>Do not run <c>ray start --head</c> when nothing answers.</summary>
        public bool NoAutoStart { get; init; }
        public int MaxConcurrent { get; init; } = 4;
        public int NumCpusPerTask { get; init; } = 1;
        public double NumGpusPerTask { get; init; }
        /// <summary>CPUs/GPUs of a local cluster or of this machine; null means detect.</summary>
        public int? NumCpus { get; init; }
        public int? NumGpus { get; init; }
        public int DashboardPort { get; init; } = 8265;
        /// <summary>Where the Ray backend records the local heads it starts, so a later session may stop them (the run store's).</summary>
        public Ray.IStartedHeadLedger? StartedHeads { get; init; }
        /// <summary>Where the local backend writes each run's log: the run store's folder for the run.</summary>
        public Func<string, string>? LogPathFor { get; init; }
        /// <summary>The lifetime of the runner the backend serves: it stops watching runs when that ends (set by <see cref="RunnerHost"/>).</summary>
        public System.Threading.CancellationToken Lifetime { get; init; }
        /// <summary>Receives what a backend does, for -Verbose (what is sent where; never a token).</summary>
        public Action<string>? Log { get; init; }
        /// <summary>Receives what the user must hear while runs go on (a Ray head that stopped answering); any thread.</summary>
        public Action<string>? Warn { get; init; }
    }
}
