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
        public DateTimeOffset SubmittedAt { get; init; }
        public DateTimeOffset? StartedAt { get; init; }
        public DateTimeOffset? CompletedAt { get; init; }
        public TaskOutput? Output { get; init; }
        public TaskRef? ObjectRef { get; init; }
        /// <summary>The tags the run was started with (RunRequest.Tags, -Tag); empty when none.</summary>
        public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();

        /// <summary>A run as its record in the store says it stands (no backend asked).</summary>
        public static RunSnapshot FromRecord(RunRecord record) => new RunSnapshot
        {
            RunId = record.RunId,
            SweepId = record.SweepId,
            Status = record.Result != null ? RunStatus.Normalize(record.Result.Status) ?? record.Status : record.Status,
            Backend = record.Spec.Backend,
            Entrypoint = record.Spec.Entrypoint,
            Config = record.Spec.Config,
            SubmittedAt = record.Spec.CreatedAt,
            StartedAt = record.Result?.StartedAt ?? record.Submission?.SubmittedAt,
            CompletedAt = record.Result?.CompletedAt,
            Output = record.Result,
            ObjectRef = record.ToTaskRef(),
            Tags = record.Spec.Input?.AdditionalTags ?? Array.Empty<string>(),
        };

        /// <summary>The same run with another status (a fresher answer than the snapshot's).</summary>
        public RunSnapshot WithStatus(string status) => new RunSnapshot
        {
            RunId = RunId, SweepId = SweepId, Status = status, Backend = Backend, Entrypoint = Entrypoint, Config = Config,
            SubmittedAt = SubmittedAt, StartedAt = StartedAt, CompletedAt = CompletedAt, Output = Output, ObjectRef = ObjectRef, Tags = Tags,
        };

        /// <summary>The order every listing uses: oldest first, then by id.</summary>
        public static int Compare(RunSnapshot a, RunSnapshot b)
        {
            var byTime = a.SubmittedAt.CompareTo(b.SubmittedAt);
            return byTime != 0 ? byTime : string.CompareOrdinal(a.RunId, b.RunId);
        }
    }
}
