using System;
using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>The result of one experiment as the caller sees it (tmgg's ExperimentResult).</summary>
    public sealed class ExperimentResult
    {
        public string RunId { get; init; } = "";
        public IReadOnlyDictionary<string, object?> Config { get; init; } = new Dictionary<string, object?>();
        public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
        /// <summary>Metrics the experiment reported as something other than a number, as text (see <see cref="ReportedResult.TextMetrics"/>).</summary>
        public IReadOnlyDictionary<string, string> TextMetrics { get; init; } = new Dictionary<string, string>();
        public string? CheckpointPath { get; init; }
        public string Status { get; init; } = RunStatus.Unknown;
        public string? ErrorMessage { get; init; }
        public double DurationSeconds { get; init; }
        public string? SweepId { get; init; }
        public DateTimeOffset? StartedAt { get; init; }
        public DateTimeOffset? CompletedAt { get; init; }

        /// <summary>
        /// tmgg's _task_output_to_result: the run id is the one the runner made, never the one the
        /// worker reports, and the config is the one the runner sent.
        /// </summary>
        public static ExperimentResult FromTaskOutput(TaskOutput output, string runId, IReadOnlyDictionary<string, object?> config, string? sweepId = null) =>
            new ExperimentResult
            {
                RunId = runId,
                Config = config,
                Metrics = output.Metrics,
                TextMetrics = output.TextMetrics ?? new Dictionary<string, string>(),
                CheckpointPath = output.CheckpointUri,
                Status = RunStatus.Normalize(output.Status) ?? RunStatus.Unknown,
                ErrorMessage = output.ErrorMessage,
                DurationSeconds = output.DurationSeconds,
                SweepId = sweepId,
                StartedAt = output.StartedAt,
                CompletedAt = output.CompletedAt,
            };
    }
}
