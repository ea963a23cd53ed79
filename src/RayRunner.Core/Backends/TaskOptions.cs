using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>Per-run resource options (tmgg's _get_remote_options).</summary>
    public sealed class TaskOptions
    {
        public double NumCpus { get; init; } = 1;
        /// <summary>Only set when the runner asks for GPUs (tmgg sends num_gpus only when &gt; 0).</summary>
        public double? NumGpus { get; init; }
        public IReadOnlyDictionary<string, double> Resources { get; init; } = new Dictionary<string, double>();
        /// <summary>Bytes of memory the run reserves (Ray's entrypoint_memory); null: none. The local backend ignores it.</summary>
        public long? MemoryBytes { get; init; }
        /// <summary>A Ray runtime_env as a JSON object (pip, conda, env_vars, py_modules, ...), checked by <see cref="RunResources.CheckRuntimeEnv"/>; the local backend applies its env_vars only.</summary>
        public string? RuntimeEnv { get; init; }
    }
}
