using System;
using System.Collections.Generic;
using System.Linq;

namespace RayRunner.Core.Sweeps
{
    /// <summary>
    /// Expands a <see cref="SweepDefinition"/> into configs, in the stable order the definition
    /// documents. Everything is checked, and the size guard applied, before the first config is made.
    /// </summary>
    public static class SweepExpander
    {
        /// <summary>One choice along one dimension: the keys it sets and their values.</summary>
        sealed class Choice
        {
            public Choice(IReadOnlyList<KeyValuePair<string, object?>> assignments) => Assignments = assignments;
            public IReadOnlyList<KeyValuePair<string, object?>> Assignments { get; }
        }

        public static IReadOnlyList<SweepConfig> Expand(SweepDefinition sweep)
        {
            if (sweep == null) throw new ArgumentNullException(nameof(sweep));
            var keys = SweptKeys(sweep).ToList();
            if (keys.Count == 0)
                throw new SweepDefinitionException(SweepProblem.Empty,
                    "The sweep sweeps nothing: give -Grid, -Zip or a sweep file with seeds, architectures, datasets or hyperparameters. (A single config needs no sweep: pass it to Start-RayExperiment as it is.)");
            DottedKey.CheckDistinct(keys);
            foreach (var key in keys) DottedKey.CheckAgainstBase(key, sweep.Base);
            if (sweep.MaxConfigs < 1)
                throw new SweepDefinitionException(SweepProblem.Invalid, $"MaxConfigs is {sweep.MaxConfigs}; it must be at least 1.");

            var outer = sweep.Axes.Select(a => ListChoices(a.Key, a.Value)).ToList();
            var inner = sweep.RandomSamples is int samples ? new List<List<Choice>> { DrawChoices(sweep, samples) } : GridChoices(sweep);
            var dimensions = outer.Concat(inner).ToList();

            long count = 1;
            foreach (var d in dimensions)
            {
                count *= d.Count;
                if (count > sweep.MaxConfigs)
                {
                    var total = dimensions.Aggregate(1.0, (acc, dim) => acc * dim.Count);
                    throw new SweepDefinitionException(SweepProblem.TooLarge,
                        $"The sweep would make {total:N0} configs, more than the limit of {sweep.MaxConfigs:N0}. Sweep fewer values, use -Random with a sample count, or raise -MaxConfigs if you mean it.");
                }
            }

            var labels = new SweepLabeler(sweep, keys);
            var result = new List<SweepConfig>((int)count);
            var position = new int[dimensions.Count];
            for (var index = 1; index <= count; index++)
            {
                var config = (Dictionary<string, object?>)DottedKey.DeepCopy(sweep.Base)!;
                var parameters = new List<KeyValuePair<string, object?>>();
                for (var d = 0; d < dimensions.Count; d++)
                {
                    foreach (var assignment in dimensions[d][position[d]].Assignments)
                    {
                        DottedKey.Set(config, assignment.Key, assignment.Value);
                        parameters.Add(assignment);
                    }
                }
                // Checked here too: a swept value the runner could not send fails now, with its key.
                try
                {
                    config = ExperimentConfig.Normalize(config);
                }
                catch (ConfigValidationException ex)
                {
                    throw new SweepDefinitionException(SweepProblem.Invalid, $"Config #{index} of the sweep cannot be sent: {ex.Message}", ex.KeyPath);
                }
                result.Add(new SweepConfig(index, labels.Label(index, config, parameters), config, parameters));

                // Odometer step: the last dimension turns fastest.
                for (var d = dimensions.Count - 1; d >= 0; d--)
                {
                    if (++position[d] < dimensions[d].Count) break;
                    position[d] = 0;
                }
            }
            return result;
        }

        static IEnumerable<string> SweptKeys(SweepDefinition sweep) =>
            sweep.Axes.Select(a => a.Key)
                .Concat(sweep.Zip.SelectMany(g => g.Select(k => k.Key)))
                .Concat(sweep.Space.Select(s => s.Key));

        static List<Choice> ListChoices(string key, IReadOnlyList<object?> values)
        {
            DottedKey.Split(key);
            if (values.Count == 0)
                throw new SweepDefinitionException(SweepProblem.Empty,
                    $"The values of '{key}' are an empty list, so the sweep would have no configs. Give at least one value, or leave '{key}' out.", key);
            return values.Select(v => new Choice(new[] { new KeyValuePair<string, object?>(key, v) })).ToList();
        }

        static List<Choice> ZipChoices(IReadOnlyList<KeyValuePair<string, IReadOnlyList<object?>>> group)
        {
            if (group.Count == 0)
                throw new SweepDefinitionException(SweepProblem.Empty, "A zip group has no keys. Give keys with value lists of one length, e.g. -Zip @{ lr = 0.1, 0.01; batch = 32, 64 }.");
            var length = group[0].Value.Count;
            foreach (var kv in group)
            {
                DottedKey.Split(kv.Key);
                if (kv.Value.Count == 0)
                    throw new SweepDefinitionException(SweepProblem.Empty, $"The zipped values of '{kv.Key}' are an empty list. Give at least one value.", kv.Key);
                if (kv.Value.Count != length)
                    throw new SweepDefinitionException(SweepProblem.Invalid,
                        $"Zipped keys pair values by position, but '{group[0].Key}' has {length} values and '{kv.Key}' has {kv.Value.Count}. Give every zipped key the same number of values.", kv.Key);
            }
            return Enumerable.Range(0, length)
                .Select(i => new Choice(group.Select(kv => new KeyValuePair<string, object?>(kv.Key, kv.Value[i])).ToList()))
                .ToList();
        }

        static List<List<Choice>> GridChoices(SweepDefinition sweep)
        {
            var dims = sweep.Zip.Select(ZipChoices).ToList();
            foreach (var kv in sweep.Space)
            {
                if (kv.Value is not ValueList list)
                    throw new SweepDefinitionException(SweepProblem.Invalid,
                        $"'{kv.Key}' is a range, and a grid can only list values. Draw from ranges with -Random <count> (a sweep file: random: {{samples: N, seed: S}}), or give '{kv.Key}' a list of values.", kv.Key);
                dims.Add(ListChoices(kv.Key, list.Values));
            }
            return dims;
        }

        /// <summary>
        /// Draws the samples of a random sweep: for each sample, one row of every zip group, then one
        /// value of every space key, in that order, from one generator seeded with the sweep's seed.
        /// </summary>
        static List<Choice> DrawChoices(SweepDefinition sweep, int samples)
        {
            if (samples < 1)
                throw new SweepDefinitionException(SweepProblem.Empty, $"-Random is {samples}; draw at least one sample.");
            if (samples > sweep.MaxConfigs)
                throw new SweepDefinitionException(SweepProblem.TooLarge,
                    $"The sweep would draw {samples:N0} configs, more than the limit of {sweep.MaxConfigs:N0}. Draw fewer, or raise -MaxConfigs if you mean it.");
            var zips = sweep.Zip.Select(ZipChoices).ToList();
            foreach (var kv in sweep.Space) DottedKey.Split(kv.Key);
            var rng = new SplitMix64(sweep.RandomSeed);
            var drawn = new List<Choice>(samples);
            for (var i = 0; i < samples; i++)
            {
                var assignments = new List<KeyValuePair<string, object?>>();
                foreach (var zip in zips) assignments.AddRange(zip[rng.NextIndex(zip.Count)].Assignments);
                foreach (var kv in sweep.Space) assignments.Add(new KeyValuePair<string, object?>(kv.Key, kv.Value.Draw(rng)));
                drawn.Add(new Choice(assignments));
            }
            return drawn;
        }
    }
}
