using System;
using System.Collections.Generic;

namespace RayRunner.Core.Sweeps
{
    /// <summary>
    /// A sweep as described by the user (New-RaySweep's parameters or a sweep file), before it is
    /// expanded into configs by <see cref="SweepExpander"/>.
    /// </summary>
    /// <remarks>
    /// The order of the generated configs is the product of, outermost first: <see cref="Axes"/> in
    /// order (a sweep file's seeds, then architectures, then datasets), then the <see cref="Zip"/>
    /// groups in order, then the <see cref="Space"/> keys in order; the last one varies fastest, as
    /// in nested foreach loops written in that order. A random sweep draws the zip groups and the
    /// space <see cref="RandomSamples"/> times and crosses those samples with the axes.
    /// </remarks>
    public sealed class SweepDefinition
    {
        /// <summary>The sweep's name (a sweep file's <c>name</c>); offered as {name} to the label template.</summary>
        public string? Name { get; set; }

        /// <summary>The config every generated config starts from (normalized; see <see cref="ExperimentConfig"/>).</summary>
        public Dictionary<string, object?> Base { get; set; } = new Dictionary<string, object?>(StringComparer.Ordinal);

        /// <summary>Always crossed in full, even in a random sweep: seeds, architectures, datasets.</summary>
        public List<KeyValuePair<string, IReadOnlyList<object?>>> Axes { get; } = new List<KeyValuePair<string, IReadOnlyList<object?>>>();

        /// <summary>Groups of keys whose value lists are paired element by element (all lists of a group equally long).</summary>
        public List<IReadOnlyList<KeyValuePair<string, IReadOnlyList<object?>>>> Zip { get; } = new List<IReadOnlyList<KeyValuePair<string, IReadOnlyList<object?>>>>();

        /// <summary>The hyperparameter space: lists (grid or random) and ranges (random only).</summary>
        public List<KeyValuePair<string, ParameterDomain>> Space { get; } = new List<KeyValuePair<string, ParameterDomain>>();

        /// <summary>When set, draw this many samples of the zip groups and the space instead of their full product.</summary>
        public int? RandomSamples { get; set; }

        /// <summary>The seed of the random draws: the same seed gives the same configs.</summary>
        public long RandomSeed { get; set; }

        /// <summary>The label of each config, e.g. "{name}-{model}-lr{learning_rate}-s{seed}"; null gives "key=value ..." of the swept keys.</summary>
        public string? LabelTemplate { get; set; }

        /// <summary>The most configs the sweep may make; a larger sweep is refused before any is made.</summary>
        public int MaxConfigs { get; set; } = DefaultMaxConfigs;

        public const int DefaultMaxConfigs = 10000;

        /// <summary>A sweep file's entrypoint, handed to Start-RayExperiment / Invoke-RayExperiment by property name.</summary>
        public string? Entrypoint { get; set; }

        /// <summary>A sweep file's working directory, already resolved against the file's folder.</summary>
        public string? WorkingDirectory { get; set; }

        /// <summary>A sweep file's max_retries (checked), handed to -MaxRetries by property name; null when it has none.</summary>
        public int? MaxRetries { get; set; }

        /// <summary>A sweep file's retry_on (checked), handed to -RetryOn by property name; null for all reasons.</summary>
        public string[]? RetryOn { get; set; }
    }
}
