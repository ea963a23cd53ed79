using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading.Tasks;

namespace RayRunner.Tests.Unit.Ray.StandIn
{
    /// <summary>One job as the stand-in keeps it (Ray's JobInfo in the GCS KV, plus the driver process).</summary>
    public sealed class StandInJob
    {
        internal StandInJob(string id) => SubmissionId = id;

        public string SubmissionId { get; }
        public string Entrypoint { get; internal set; } = "";
        public IReadOnlyDictionary<string, string> EnvVars { get; internal set; } = new Dictionary<string, string>();
        public IReadOnlyDictionary<string, string> Metadata { get; internal set; } = new Dictionary<string, string>();
        public string RuntimeEnvJson { get; internal set; } = "{}";
        public string? WorkingDirUri { get; internal set; }
        public double NumCpus { get; internal set; }
        public double NumGpus { get; internal set; }
        public long MemoryBytes { get; internal set; }
        public IReadOnlyDictionary<string, double> Resources { get; internal set; } = new Dictionary<string, double>();
        /// <summary>The raw JSON body of the accepted POST.</summary>
        public string RequestBody { get; internal set; } = "";

        public volatile string Status = "PENDING";
        public string? Message { get; internal set; } = "Job has not started yet. It may be waiting for resources (CPUs, GPUs, custom resources) to become available.";
        public string? ErrorType { get; internal set; }
        public long StartTime { get; internal set; }
        public long? EndTime { get; internal set; }
        public int? DriverExitCode { get; internal set; }
        public int? Pid { get; internal set; }
        public string LogPath { get; internal set; } = "";
        /// <summary>The folder the entrypoint ran in (the unpacked working_dir, when one was given).</summary>
        public string? RunDirectory { get; internal set; }

        internal Process? Process;
        internal volatile bool StopRequested;
        internal volatile bool SupervisorStarted;
        internal readonly TaskCompletionSource<bool> Ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsTerminal => Status is "SUCCEEDED" or "FAILED" or "STOPPED";
        /// <summary>Whether the job's supervisor actor exists (a stop before that answers false and does nothing).</summary>
        public bool HasSupervisor => SupervisorStarted;
        /// <summary>Completes when the job reaches a terminal status.</summary>
        public Task EndedTask => Ended.Task;
    }
}
