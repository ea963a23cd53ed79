using System.Collections.Generic;

namespace RayRunner.Core.Sweeps
{
    /// <summary>One config of an expanded sweep, ready for the runner.</summary>
    public sealed class SweepConfig
    {
        internal SweepConfig(int index, string label, Dictionary<string, object?> config, IReadOnlyList<KeyValuePair<string, object?>> parameters)
        {
            Index = index;
            Label = label;
            Config = config;
            Parameters = parameters;
            ConfigHash = Core.ConfigHash.Compute(config);
        }

        /// <summary>1-based position in the sweep's stable order.</summary>
        public int Index { get; }

        /// <summary>A readable name: the label template filled in, or "key=value ..." of the swept keys.</summary>
        public string Label { get; }

        /// <summary>The full config (base with the swept values set).</summary>
        public Dictionary<string, object?> Config { get; }

        /// <summary>The swept keys (dotted) and their values for this config, in sweep order.</summary>
        public IReadOnlyList<KeyValuePair<string, object?>> Parameters { get; }

        /// <summary>The same hash the runner records for resume: equal configs, equal hash, whatever their key order.</summary>
        public string ConfigHash { get; }
    }
}
