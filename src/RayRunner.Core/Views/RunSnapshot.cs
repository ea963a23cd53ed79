using System;
using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>One run as seen at one moment.</summary>
    public sealed class RunSnapshot
    {
        public string RunId { get; init; } = "";
        public string? SweepId { get; init; }
        public string Status { get; init; } = RunStatus.Unknown;
        public string Backend { get; init; } = "";
        public string Entrypoint { get; init; } = "";
        public IReadOnlyDictionary<string, object?> Config { get; init; } = new Dictionary<string, object?>();
        /// <summary>
        /// The config's identity as the store records it (<see cref="RunSpecRecord.ConfigHash"/>): runs
        /// of one sweep with the same hash are attempts at one config. Empty for a damaged record.
        /// </summary>
        public string ConfigHash { get; init; } = "";
        public DateTimeOffset SubmittedAt { get; init; }
        public DateTimeOffset? StartedAt { get; init; }
        public DateTimeOffset? CompletedAt { get; init; }
        public TaskOutput? Output { get; init; }
        public TaskRef? ObjectRef { get; init; }
        /// <summary>The tags the run was started with (RunRequest.Tags, -Tag); empty when none.</summary>
        public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();
        /// <summary>
        /// A queued run whose owner process is gone (<see cref="RunRecord.IsOrphan"/>): nothing will
        /// start it until a process adopts it (Resume-RaySweep, or a wait on it). Never true for a
        /// run this process tracks.
        /// </summary>
        public bool IsOrphan { get; init; }
        /// <summary>For a <see cref="RunStatus.Damaged"/> run: what is wrong with its record and what to do. Null otherwise.</summary>
        public string? Damage { get; init; }
        /// <summary>The current (or last) attempt: 1 unless the run was retried.</summary>
        public int Attempt { get; init; } = 1;
        /// <summary>The attempts that ended before the current one, oldest first; empty when none.</summary>
        public IReadOnlyList<AttemptRecord> PastAttempts { get; init; } = Array.Empty<AttemptRecord>();
        /// <summary>How the run is retried; null when it is tried once.</summary>
        public RetryPolicy? Retry { get; init; }
        /// <summary>Why the status is what it is when the view could not tell better (e.g. its Ray head did not answer); null otherwise.</summary>
        public string? StatusNote { get; init; }
        /// <summary>What the run asked the backend for (CPUs, GPUs, memory, custom resources, runtime_env); null when not recorded (a damaged record).</summary>
        public TaskOptions? Options { get; init; }

        /// <summary>A run as its record in the store says it stands (no backend asked).</summary>
        public static RunSnapshot FromRecord(RunRecord record) => new RunSnapshot
        {
            RunId = record.RunId,
            SweepId = record.SweepId,
            Status = record.Result != null ? RunStatus.Normalize(record.Result.Status) ?? record.Status : record.Status,
            Backend = record.Spec.Backend,
            Entrypoint = record.Spec.Entrypoint,
            Config = record.Spec.Config,
            // Recorded since the store's first format; computed only for a record that lacks it.
            ConfigHash = record.Spec.ConfigHash.Length > 0 ? record.Spec.ConfigHash : Core.ConfigHash.Compute(record.Spec.Config),
            SubmittedAt = record.Spec.CreatedAt,
            StartedAt = record.Result?.StartedAt ?? record.Submission?.SubmittedAt,
            CompletedAt = record.Result?.CompletedAt,
            Output = record.Result,
            ObjectRef = record.ToTaskRef(),
            Tags = record.Spec.Input?.AdditionalTags ?? Array.Empty<string>(),
            IsOrphan = record.IsOrphan,
            Attempt = record.Attempt,
            PastAttempts = record.Attempts ?? Array.Empty<AttemptRecord>(),
            Retry = record.Spec.Retry,
            Options = record.Spec.Options,
        };

        /// <summary>
        /// A run whose record cannot be read: only its id and when the record was last written are
        /// known. Listed (status <c>damaged</c>) so it does not vanish; it can be removed.
        /// </summary>
        public static RunSnapshot FromDamage(StoreProblem problem) => new RunSnapshot
        {
            RunId = problem.RunId ?? "",
            Status = RunStatus.Damaged,
            SubmittedAt = WrittenAt(problem.Path),
            Damage = $"The record {problem.Path} {problem.Message}",
        };

        static DateTimeOffset WrittenAt(string path)
        {
            try { return new DateTimeOffset(System.IO.File.GetLastWriteTimeUtc(path), TimeSpan.Zero); }
            catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException) { return DateTimeOffset.MinValue; }
        }

        /// <summary>The same run with another status (a fresher answer than the snapshot's), and why when <paramref name="note"/> says.</summary>
        public RunSnapshot WithStatus(string status, string? note = null) => new RunSnapshot
        {
            StatusNote = note,
            RunId = RunId, SweepId = SweepId, Status = status, Backend = Backend, Entrypoint = Entrypoint, Config = Config,
            ConfigHash = ConfigHash, SubmittedAt = SubmittedAt, StartedAt = StartedAt, CompletedAt = CompletedAt, Output = Output, ObjectRef = ObjectRef, Tags = Tags,
            Damage = Damage, IsOrphan = IsOrphan, Attempt = Attempt, PastAttempts = PastAttempts, Retry = Retry, Options = Options,
        };

        /// <summary>The order every listing uses: oldest first, then by id.</summary>
        public static int Compare(RunSnapshot a, RunSnapshot b)
        {
            var byTime = a.SubmittedAt.CompareTo(b.SubmittedAt);
            return byTime != 0 ? byTime : string.CompareOrdinal(a.RunId, b.RunId);
        }
    }
}
