using System;
using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>
    /// What one run reports back (tmgg's TaskOutput). Experiments report it through a
    /// <c>RAYRUNNER_RESULT {json}</c> line; RayRunner fills the timestamps it observed.
    /// </summary>
    public sealed class TaskOutput
    {
        public string RunId { get; init; } = "";
        /// <summary>completed, failed, timeout or cancelled.</summary>
        public string Status { get; init; } = RunStatus.Completed;
        public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
        /// <summary>Metrics reported as something other than a number, kept as text; null when there were none.</summary>
        public IReadOnlyDictionary<string, string>? TextMetrics { get; init; }
        public string? CheckpointUri { get; init; }
        public string? ErrorMessage { get; init; }
        public DateTimeOffset? StartedAt { get; init; }
        public DateTimeOffset? CompletedAt { get; init; }
        public double DurationSeconds { get; init; }

        /// <summary>A copy with some fields replaced (records would do this, but keep the type a plain class for PowerShell).</summary>
        public TaskOutput With(
            string? runId = null, string? status = null, string? errorMessage = null,
            DateTimeOffset? startedAt = null, DateTimeOffset? completedAt = null, double? durationSeconds = null)
            => new TaskOutput
            {
                RunId = runId ?? RunId,
                Status = status ?? Status,
                Metrics = Metrics,
                TextMetrics = TextMetrics,
                CheckpointUri = CheckpointUri,
                ErrorMessage = errorMessage ?? ErrorMessage,
                StartedAt = startedAt ?? StartedAt,
                CompletedAt = completedAt ?? CompletedAt,
                DurationSeconds = durationSeconds ?? DurationSeconds,
            };

        public static TaskOutput Failure(string runId, string status, string message) =>
            new TaskOutput { RunId = runId, Status = status, ErrorMessage = message };
    }
}
