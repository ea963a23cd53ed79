using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace RayRunner.Core.Sweeps
{
    /// <summary>
    /// Reads a sweep file (YAML, or JSON by the .json extension) into a <see cref="SweepDefinition"/>.
    /// It can say everything a tmgg stage definition says:
    /// <code>
    /// name: stage1_poc                       # the label's {name}
    /// entrypoint: python train.py {overrides}
    /// working_directory: .                   # relative to this file
    /// base: { learning_rate: 1e-2, trainer: { max_epochs: 50 } }
    /// seeds: [1, 2, 3]                       # sets 'seed'  (seed_key: to rename)
    /// architectures: [models/spectral/linear_pe, models/spectral/filter_bank]   # sets 'model' (architecture_key:)
    /// datasets: [sbm, er]                    # sets 'data'  (dataset_key:)
    /// hyperparameters:                       # dotted keys; a list, or a range for random sweeps
    ///   learning_rate: [1e-3, 1e-2]
    ///   model.k: [8, 16]
    /// zip: { noise: [0.1, 0.2], eval_noise: [0.1, 0.2] }   # or a list of such groups
    /// random: { samples: 20, seed: 7 }       # draw hyperparameters instead of the full grid
    /// run_name: "{name}_{model}_{data}_lr{learning_rate}_s{seed}"
    /// max_configs: 10000
    /// max_retries: 2                         # each run's retries (-MaxRetries), and on what:
    /// retry_on: [failed, lost]               # (-RetryOn; all of failed, timeout, lost when left out)
    /// </code>
    /// Any other top-level key is refused, so a typo never silently sweeps less than meant.
    /// </summary>
    public static class SweepFile
    {
        static readonly string[] Known =
        {
            "name", "description", "entrypoint", "working_directory", "base", "base_config",
            "seeds", "seed_key", "architectures", "architecture_key", "datasets", "dataset_key",
            "hyperparameters", "zip", "random", "run_name", "run_name_template", "max_configs",
            "max_retries", "retry_on",
        };

        public static SweepDefinition Read(string path)
        {
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new SweepDefinitionException(SweepProblem.Invalid, $"The sweep file '{path}' cannot be read: {ex.Message}");
            }
            var source = $"The sweep file '{path}'";
            var root = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? ReadJson(text, source) : YamlValues.Read(text, source);
            if (root is not Dictionary<string, object?> map)
                throw new SweepDefinitionException(SweepProblem.Invalid, $"{source} must hold a map of sweep settings (name, base, seeds, architectures, datasets, hyperparameters, ...).");
            return FromMap(map, Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", source);
        }

        /// <summary>
        /// JSON read as plain values. Not through <see cref="ExperimentConfig.NormalizeJson"/>: a sweep
        /// file's keys may be dotted (<c>"model.k": [8, 16]</c>), which a config's keys may not.
        /// </summary>
        static object? ReadJson(string text, string source)
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(text);
                return Plain(doc.RootElement);
            }
            catch (System.Text.Json.JsonException ex)
            {
                throw new SweepDefinitionException(SweepProblem.Invalid, $"{source} is not valid JSON ({ex.Message}).");
            }
        }

        static object? Plain(System.Text.Json.JsonElement e)
        {
            switch (e.ValueKind)
            {
                case System.Text.Json.JsonValueKind.Object:
                    var map = new Dictionary<string, object?>(StringComparer.Ordinal);
                    foreach (var p in e.EnumerateObject())
                    {
                        if (map.ContainsKey(p.Name))
                            throw new SweepDefinitionException(SweepProblem.Invalid, $"The key '{p.Name}' appears twice in one JSON object.", p.Name);
                        map[p.Name] = Plain(p.Value);
                    }
                    return map;
                case System.Text.Json.JsonValueKind.Array:
                    return e.EnumerateArray().Select(Plain).ToList();
                default:
                    return ExperimentConfig.FromJson(e, "");
            }
        }

        /// <summary>Builds the definition from an already-parsed file; <paramref name="folder"/> anchors relative paths.</summary>
        public static SweepDefinition FromMap(IReadOnlyDictionary<string, object?> map, string folder, string source = "The sweep file")
        {
            foreach (var key in map.Keys)
            {
                if (Known.Contains(key)) continue;
                var near = Known.Where(k => Distance(k, key) <= 2).ToList();
                throw new SweepDefinitionException(SweepProblem.UnknownKey,
                    $"{source} has the unknown key '{key}'." + (near.Count > 0 ? $" Did you mean '{near[0]}'?" : "") +
                    $" Known keys: {string.Join(", ", Known)}.", key);
            }

            var sweep = new SweepDefinition
            {
                Name = Text(map, "name"),
                Entrypoint = Text(map, "entrypoint"),
                LabelTemplate = Text(map, "run_name") ?? Text(map, "run_name_template"),
            };
            var workingDirectory = Text(map, "working_directory");
            if (workingDirectory != null) sweep.WorkingDirectory = Path.GetFullPath(Path.Combine(folder, workingDirectory));

            if (map.ContainsKey("base") && map.ContainsKey("base_config"))
                throw new SweepDefinitionException(SweepProblem.ConflictingKeys, $"{source} has both 'base' and 'base_config'; keep one.", "base_config");
            var baseValue = map.TryGetValue("base", out var b) ? b : map.TryGetValue("base_config", out var bc) ? bc : null;
            if (baseValue != null)
                sweep.Base = baseValue as Dictionary<string, object?>
                    ?? throw new SweepDefinitionException(SweepProblem.Invalid, $"{source}: 'base' must be a map of settings.", "base");

            Axis(map, sweep, "seeds", Text(map, "seed_key") ?? "seed", source);
            Axis(map, sweep, "architectures", Text(map, "architecture_key") ?? "model", source);
            Axis(map, sweep, "datasets", Text(map, "dataset_key") ?? "data", source);

            if (map.TryGetValue("zip", out var zip) && zip != null)
            {
                var groups = zip is List<object?> many ? many : new List<object?> { zip };
                foreach (var group in groups)
                {
                    if (group is not Dictionary<string, object?> g)
                        throw new SweepDefinitionException(SweepProblem.Invalid, $"{source}: 'zip' must be a map of key -> list of values (or a list of such maps).", "zip");
                    sweep.Zip.Add(g.Select(kv => new KeyValuePair<string, IReadOnlyList<object?>>(kv.Key, AsList(kv.Value))).ToList());
                }
            }

            if (map.TryGetValue("hyperparameters", out var hp) && hp != null)
            {
                if (hp is not Dictionary<string, object?> space)
                    throw new SweepDefinitionException(SweepProblem.Invalid, $"{source}: 'hyperparameters' must be a map of key -> list of values or range.", "hyperparameters");
                foreach (var kv in space) sweep.Space.Add(new KeyValuePair<string, ParameterDomain>(kv.Key, ParameterDomain.From(kv.Key, kv.Value)));
            }

            if (map.TryGetValue("random", out var random) && random != null)
            {
                if (random is not Dictionary<string, object?> r || !r.TryGetValue("samples", out var samples) || samples is not long n)
                    throw new SweepDefinitionException(SweepProblem.Invalid, $"{source}: 'random' must be a map with a whole number of samples, e.g. random: {{samples: 20, seed: 7}}.", "random");
                var unknown = r.Keys.FirstOrDefault(k => k != "samples" && k != "seed");
                if (unknown != null)
                    throw new SweepDefinitionException(SweepProblem.UnknownKey, $"{source}: 'random' has the unknown key '{unknown}'; it takes samples and seed.", "random." + unknown);
                sweep.RandomSamples = (int)Math.Min(n, int.MaxValue);
                if (r.TryGetValue("seed", out var seed))
                    sweep.RandomSeed = seed as long? ?? throw new SweepDefinitionException(SweepProblem.Invalid, $"{source}: random.seed must be a whole number.", "random.seed");
            }

            if (map.TryGetValue("max_configs", out var max) && max != null)
                sweep.MaxConfigs = max is long m && m > 0 ? (int)Math.Min(m, int.MaxValue)
                    : throw new SweepDefinitionException(SweepProblem.Invalid, $"{source}: max_configs must be a whole number above 0.", "max_configs");
            ReadRetry(map, sweep, source);
            return sweep;
        }

        /// <summary>max_retries and retry_on: checked as -MaxRetries and -RetryOn are, and handed to them by property name.</summary>
        static void ReadRetry(IReadOnlyDictionary<string, object?> map, SweepDefinition sweep, string source)
        {
            map.TryGetValue("max_retries", out var max);
            map.TryGetValue("retry_on", out var on);
            if (max == null && on == null) return;
            if (max is not long retries || retries < 0 || retries > RetryPolicy.MaxAllowedRetries)
                throw new SweepDefinitionException(SweepProblem.Invalid,
                    $"{source}: max_retries must be a whole number from 0 to {RetryPolicy.MaxAllowedRetries}" + (max == null ? " (retry_on needs it)." : "."), "max_retries");
            string[]? reasons = null;
            if (on != null)
                reasons = (on is List<object?> list ? list : new List<object?> { on }).Select(r => r as string
                    ?? throw new SweepDefinitionException(SweepProblem.Invalid, $"{source}: retry_on holds a value that is not text; use any of {string.Join(", ", RetryPolicy.Reasons)}.", "retry_on")).ToArray();
            try
            {
                RetryPolicy.Create((int)retries, reasons);
            }
            catch (ArgumentException ex)
            {
                throw new SweepDefinitionException(SweepProblem.Invalid, $"{source}: {ex.Message.Split('\n')[0].Replace(" (Parameter 'retryOn')", "").Replace("RetryOn holds", "retry_on holds")}", "retry_on");
            }
            sweep.MaxRetries = (int)retries;
            sweep.RetryOn = reasons;
        }

        static void Axis(IReadOnlyDictionary<string, object?> map, SweepDefinition sweep, string entry, string key, string source)
        {
            if (!map.TryGetValue(entry, out var value) || value == null) return;
            if (value is not List<object?> list)
                throw new SweepDefinitionException(SweepProblem.Invalid, $"{source}: '{entry}' must be a list.", entry);
            if (list.Count == 0)
                throw new SweepDefinitionException(SweepProblem.Empty, $"{source}: '{entry}' is an empty list, so the sweep would have no configs. Give at least one, or leave '{entry}' out.", entry);
            sweep.Axes.Add(new KeyValuePair<string, IReadOnlyList<object?>>(key, list));
        }

        static IReadOnlyList<object?> AsList(object? value) => value as List<object?> ?? new List<object?> { value };

        static string? Text(IReadOnlyDictionary<string, object?> map, string key) =>
            map.TryGetValue(key, out var value) && value != null
                ? value as string ?? throw new SweepDefinitionException(SweepProblem.Invalid, $"The sweep file's '{key}' must be text.", key)
                : null;

        /// <summary>Edit distance, for "did you mean" on a mistyped key.</summary>
        static int Distance(string a, string b)
        {
            var d = new int[a.Length + 1, b.Length + 1];
            for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
            for (var j = 0; j <= b.Length; j++) d[0, j] = j;
            for (var i = 1; i <= a.Length; i++)
                for (var j = 1; j <= b.Length; j++)
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            return d[a.Length, b.Length];
        }
    }
}
