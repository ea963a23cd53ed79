using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>
    /// What one experiment run receives (tmgg's TaskInput). The launched command sees it as JSON in
    /// <c>RAYRUNNER_TASK_INPUT</c>, snake_case on the wire.
    /// </summary>
    public sealed class TaskInput
    {
        public TaskInput(IReadOnlyDictionary<string, object?> config, string runId)
        {
            Config = config;
            RunId = runId;
        }

        /// <summary>The normalized config: see <see cref="ExperimentConfig"/>.</summary>
        public IReadOnlyDictionary<string, object?> Config { get; }
        public string RunId { get; }
        /// <summary>tmgg's GPU tier; Ray and the local backend do not use tiers, so "local".</summary>
        public string GpuTier { get; init; } = "local";
        public int TimeoutSeconds { get; init; } = 3600;
        public IReadOnlyList<string> AdditionalTags { get; init; } = new string[0];
    }
}
