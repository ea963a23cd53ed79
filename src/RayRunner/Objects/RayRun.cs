using System;
using System.Collections.Generic;
using System.Linq;
using System.Collections.Specialized;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// One run as a pipeline object (type name <c>RayRunner.RayRun</c>): what Get-RayRun lists and
    /// Start-RayExperiment returns. A point-in-time view; ask again for fresh status. Pipes into every
    /// cmdlet that takes <c>-RunId</c>.
    /// </summary>
    public sealed class RayRun
    {
        public string RunId { get; internal set; } = "";
        public string? SweepId { get; internal set; }
        public string Status { get; internal set; } = RunStatus.Unknown;
        public string Backend { get; internal set; } = "";
        /// <summary>When RayRunner accepted the run (local time, for display and sorting).</summary>
        public DateTime Submitted { get; internal set; }
        public DateTime? Started { get; internal set; }
        public DateTime? Completed { get; internal set; }
        /// <summary>Run time so far (running) or in total (finished); null before the run started.</summary>
        public TimeSpan? Duration { get; internal set; }
        public string Entrypoint { get; internal set; } = "";
        /// <summary>
        /// The config as sent, as ordered hashtables: <c>$run.Config.lr</c>. Made when first read: a
        /// listed run's config stays in its record until then (listing 10,000 runs reads none).
        /// </summary>
        public OrderedDictionary Config
        {
            get => _config ??= Snapshot == null ? new OrderedDictionary() : PSValues.ToOrderedMap(Snapshot.Config);
            internal set => _config = value;
        }
        OrderedDictionary? _config;
        /// <summary>The tags given with -Tag when the run was started; Get-RayRun -Tag selects by them.</summary>
        public string[] Tags { get; internal set; } = Array.Empty<string>();
        /// <summary>Why the run failed (the result's error message), or what is wrong with a damaged record.</summary>
        public string? ErrorMessage
        {
            get => _errorSet ? _error : Snapshot?.ErrorMessage;
            internal set { _error = value; _errorSet = true; }
        }
        string? _error;
        bool _errorSet;
        /// <summary>How many attempts the run has had so far: 1 unless it was retried (-MaxRetries). Get-RayRun -IncludeAttempts lists them.</summary>
        public int Attempts { get; internal set; } = 1;
        /// <summary>The snapshot the object was made from, for the attempt listing.</summary>
        internal RunSnapshot? Snapshot { get; private set; }
        /// <summary>Whether this session's runner tracks the run (false for runs known only from the run store).</summary>
        public bool IsTracked { get; internal set; }

        /// <summary>The config's identity as the run store records it: runs of a sweep with the same hash are attempts at one config.</summary>
        public string ConfigHash { get; internal set; } = "";
        /// <summary>
        /// A queued run whose session (process) has ended: it will not start by itself.
        /// Resume-RaySweep dispatches it, as does Wait-RayRun on it.
        /// </summary>
        public bool IsOrphan { get; internal set; }

        public bool IsFinished => RunStatus.IsTerminal(Status);

        // What the run asked for is in its whole record, read when one of these is first read (a
        // listing of 10,000 runs reads none): see Requested.
        /// <summary>CPUs the run reserved (Ray's entrypoint_num_cpus; on the local backend, this machine's CPU slots); null when not recorded.</summary>
        public double? NumCpus => Requested?.NumCpus;
        /// <summary>GPUs the run reserved; null when it asked for none.</summary>
        public double? NumGpus => Requested?.NumGpus;
        /// <summary>Bytes of memory the run reserved (-Memory; Ray only); null when it asked for none.</summary>
        public long? Memory => Requested?.MemoryBytes;
        /// <summary>The custom resources the run asked for (-Resources), without RayRunner's own experiment_slot; empty when none.</summary>
        public System.Collections.Hashtable Resources => _resources ??= ResourcesOf(Requested);
        /// <summary>The runtime_env the run was given (-RuntimeEnv, or its config's own), as JSON; null when none.</summary>
        public string? RuntimeEnv => Requested?.RuntimeEnv;
        System.Collections.Hashtable? _resources;
        TaskOptions? Requested => Snapshot?.Options;

        public override string ToString() => RunId;

        internal static RayRun FromSnapshot(RunSnapshot s, bool tracked, IReadOnlyList<string>? tags, string? statusOverride = null)
        {
            var status = statusOverride ?? s.Status;
            var run = Build(s.RunId, s.SweepId, status, s.Backend, s.SubmittedAt, s.StartedAt, s.CompletedAt, s.Entrypoint, tracked);
            run.Tags = tags?.ToArray() ?? Array.Empty<string>();
            run.ConfigHash = s.ConfigHash;
            run.IsOrphan = s.IsOrphan && status == RunStatus.Queued;
            run.Attempts = s.Attempt;
            run.Snapshot = s;
            return run;
        }

        static System.Collections.Hashtable ResourcesOf(TaskOptions? options)
        {
            var resources = new System.Collections.Hashtable();
            if (options == null) return resources;
            // experiment_slot is how RayRunner caps MaxConcurrent on Ray, not something the user asked for.
            foreach (var kv in options.Resources)
                if (kv.Key != ClusterOptions.ExperimentSlotResource) resources[kv.Key] = kv.Value;
            return resources;
        }

        static RayRun Build(string runId, string? sweepId, string status, string backend, DateTimeOffset submitted,
            DateTimeOffset? started, DateTimeOffset? completed, string entrypoint, bool tracked)
        {
            TimeSpan? duration = null;
            if (started.HasValue)
            {
                var end = completed ?? (RunStatus.IsTerminal(status) ? started.Value : DateTimeOffset.UtcNow);
                duration = end > started.Value ? end - started.Value : TimeSpan.Zero;
            }
            return new RayRun
            {
                RunId = runId,
                SweepId = sweepId,
                Status = status,
                Backend = backend,
                Submitted = submitted.LocalDateTime,
                Started = started?.LocalDateTime,
                Completed = completed?.LocalDateTime,
                Duration = duration,
                Entrypoint = entrypoint,
                IsTracked = tracked,
            };
        }

        internal PSObject ToPSObject() => PSValues.WithTypeName(this, TypeNames.RayRun);
    }
}
