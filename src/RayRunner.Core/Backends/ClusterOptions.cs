using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>What the runner asks of ray.init: custom resources, and CPUs/GPUs when given.</summary>
    public sealed class ClusterOptions
    {
        /// <summary>The custom resource a runner declares (MaxConcurrent of them) and each run takes one of.</summary>
        public const string ExperimentSlotResource = "experiment_slot";

        /// <summary>Custom resources, e.g. <c>experiment_slot = MaxConcurrent</c>.</summary>
        public IReadOnlyDictionary<string, double> Resources { get; init; } = new Dictionary<string, double>();
        public int? NumCpus { get; init; }
        public int? NumGpus { get; init; }
        /// <summary>tmgg passes ignore_reinit_error=True: initializing twice is not an error.</summary>
        public bool IgnoreReinitError { get; init; } = true;
    }
}
