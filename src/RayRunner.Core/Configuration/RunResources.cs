using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;

namespace RayRunner.Core
{
    /// <summary>
    /// What one run asks the cluster for beyond the connection's defaults (hydra#2874: per-job
    /// resources): CPUs, GPUs, memory, custom resources and a Ray runtime_env. Given per call
    /// (-NumCpus, -NumGpus, -Memory, -Resources, -RuntimeEnv) or per config under the key
    /// <see cref="ConfigKey"/>, which is taken out of the config before the experiment sees it.
    /// A config's own values win over the call's, which win over the connection's.
    /// </summary>
    public sealed class RunResources
    {
        /// <summary>The config key that carries a config's own resources: <c>{"_resources": {"num_cpus": 2, "num_gpus": 1, "memory": 4294967296, "resources": {"TPU": 1}, "runtime_env": {"pip": ["torch"]}}}</c>.</summary>
        public const string ConfigKey = "_resources";

        /// <summary>The runtime_env fields passed through to Ray; working_dir is RayRunner's (from -WorkingDirectory).</summary>
        public static readonly IReadOnlyList<string> RuntimeEnvFields = new[] { "pip", "conda", "uv", "env_vars", "py_modules", "py_executable", "excludes", "container", "image_uri", "nsight", "config" };

        /// <summary>
        /// Names Ray keeps for itself: asked for as custom resources they are never what the run
        /// wants, and Ray leaves such a job PENDING forever (no node offers a custom "CPU"). Compared
        /// in any case, because "cpu" or "Memory" is the same mistake.
        /// </summary>
        static readonly IReadOnlyDictionary<string, (string Parameter, string ConfigKey)> ReservedResources =
            new Dictionary<string, (string, string)>(StringComparer.OrdinalIgnoreCase)
            {
                ["CPU"] = ("-NumCpus", "num_cpus"),
                ["GPU"] = ("-NumGpus", "num_gpus"),
                ["memory"] = ("-Memory", "memory"),
                ["object_store_memory"] = ("-Memory", "memory"),
            };

        /// <summary>
        /// Why <paramref name="name"/> cannot be a custom resource (one of Ray's own: CPU, GPU,
        /// memory, in any case), or null when it can. <paramref name="forConfig"/> names the
        /// _resources keys instead of the cmdlet parameters.
        /// </summary>
        public static string? ReservedResourceProblem(string name, bool forConfig)
        {
            if (name == null || !ReservedResources.TryGetValue(name, out var instead)) return null;
            var use = forConfig ? $"'{ConfigKey}.{instead.ConfigKey}'" : instead.Parameter;
            return $"'{name}' is one of Ray's own resources (CPU, GPU, memory), not a custom one: asked for as a custom resource, no node offers it and the run would never start. Use {use} instead"
                   + (forConfig ? "." : " (-NumCpus, -NumGpus and -Memory reserve CPUs, GPUs and memory).");
        }

        public double? NumCpus { get; init; }
        public double? NumGpus { get; init; }
        /// <summary>Bytes of memory (Ray's entrypoint_memory, an integer).</summary>
        public long? MemoryBytes { get; init; }
        public IReadOnlyDictionary<string, double>? Resources { get; init; }
        /// <summary>A JSON object: the runtime_env fields to pass to Ray, checked by <see cref="CheckRuntimeEnv"/>.</summary>
        public string? RuntimeEnvJson { get; init; }

        /// <summary>What a recorded run asked for (its stored options), so a rerun asks for the same; null when nothing was recorded.</summary>
        public static RunResources? FromOptions(TaskOptions? options) => options == null ? null : new RunResources
        {
            NumCpus = options.NumCpus,
            NumGpus = options.NumGpus ?? 0,
            MemoryBytes = options.MemoryBytes,
            Resources = options.Resources,
            RuntimeEnvJson = options.RuntimeEnv,
        };

        /// <summary>These values, each falling back to <paramref name="lower"/>'s when not set here.</summary>
        public RunResources Over(RunResources? lower) => lower == null ? this : new RunResources
        {
            NumCpus = NumCpus ?? lower.NumCpus,
            NumGpus = NumGpus ?? lower.NumGpus,
            MemoryBytes = MemoryBytes ?? lower.MemoryBytes,
            Resources = Merge(lower.Resources, Resources),
            RuntimeEnvJson = RuntimeEnvJson ?? lower.RuntimeEnvJson,
        };

        /// <summary>The connection's options with these values applied (the experiment_slot cap is kept).</summary>
        public TaskOptions ApplyTo(TaskOptions baseline) => new TaskOptions
        {
            NumCpus = NumCpus ?? baseline.NumCpus,
            NumGpus = NumGpus is double g ? (g > 0 ? g : (double?)null) : baseline.NumGpus,
            MemoryBytes = MemoryBytes ?? baseline.MemoryBytes,
            Resources = Merge(baseline.Resources, Resources) ?? new Dictionary<string, double>(),
            RuntimeEnv = RuntimeEnvJson ?? baseline.RuntimeEnv,
        };

        static IReadOnlyDictionary<string, double>? Merge(IReadOnlyDictionary<string, double>? lower, IReadOnlyDictionary<string, double>? upper)
        {
            if (upper == null) return lower;
            var merged = new Dictionary<string, double>(StringComparer.Ordinal);
            if (lower != null) foreach (var kv in lower) merged[kv.Key] = kv.Value;
            foreach (var kv in upper) merged[kv.Key] = kv.Value;
            return merged;
        }

        /// <summary>
        /// Splits a normalized config into what the experiment sees and the resources it carries
        /// under <see cref="ConfigKey"/> (null when none). Mistakes name the key path.
        /// </summary>
        public static (Dictionary<string, object?> Config, RunResources? Resources) FromConfig(Dictionary<string, object?> config)
        {
            if (config == null) throw new ArgumentNullException(nameof(config));
            if (!config.TryGetValue(ConfigKey, out var value)) return (config, null);
            var rest = new Dictionary<string, object?>(config, StringComparer.Ordinal);
            rest.Remove(ConfigKey);
            if (value is not Dictionary<string, object?> map)
                throw new ConfigValidationException(ConfigKey, $"'{ConfigKey}' must be a map such as @{{ num_cpus = 2; num_gpus = 1 }}, not {Describe(value)}.");
            double? cpus = null, gpus = null;
            long? memory = null;
            Dictionary<string, double>? custom = null;
            string? runtimeEnv = null;
            foreach (var kv in map)
            {
                var path = ConfigKey + "." + kv.Key;
                switch (kv.Key)
                {
                    case "num_cpus": cpus = Amount(path, kv.Value); break;
                    case "num_gpus": gpus = Amount(path, kv.Value); break;
                    case "memory":
                        if (kv.Value is not long bytes || bytes < 0)
                            throw new ConfigValidationException(path, $"'{path}' is memory in bytes, a whole number of 0 or more (4GB in PowerShell is 4294967296), not {Describe(kv.Value)}.");
                        memory = bytes;
                        break;
                    case "resources":
                        if (kv.Value is not Dictionary<string, object?> r)
                            throw new ConfigValidationException(path, $"'{path}' must be a map of resource name to amount, such as @{{ TPU = 1 }}, not {Describe(kv.Value)}.");
                        custom = r.ToDictionary(e => CheckResourceName(path, e.Key), e => Amount(path + "." + e.Key, e.Value), StringComparer.Ordinal);
                        break;
                    case "runtime_env":
                        try
                        {
                            runtimeEnv = CheckRuntimeEnv(RayRunnerJson.ValueToJson(kv.Value));
                        }
                        catch (ArgumentException ex)
                        {
                            throw new ConfigValidationException(path, ex.Message);
                        }
                        break;
                    default:
                        throw new ConfigValidationException(path, $"'{path}' is not a resource RayRunner knows; use num_cpus, num_gpus, memory, resources or runtime_env.");
                }
            }
            return (rest, new RunResources { NumCpus = cpus, NumGpus = gpus, MemoryBytes = memory, Resources = custom, RuntimeEnvJson = runtimeEnv });
        }

        /// <summary>
        /// Checks a runtime_env given as JSON text: an object whose fields Ray knows, env_vars a map of
        /// strings, no working_dir (RayRunner packages -WorkingDirectory itself). Returns it compact.
        /// </summary>
        public static string CheckRuntimeEnv(string json)
        {
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(json);
            }
            catch (JsonException ex)
            {
                throw new ArgumentException($"The runtime_env is not valid JSON ({ex.Message}). Give a hashtable such as @{{ pip = @('requests') }} or a JSON object.");
            }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                    throw new ArgumentException($"The runtime_env must be a JSON object such as {{\"pip\": [\"requests\"]}}, not a {root.ValueKind.ToString().ToLowerInvariant()}.");
                foreach (var p in root.EnumerateObject())
                {
                    if (p.Name == "working_dir")
                        throw new ArgumentException("The runtime_env cannot set working_dir: RayRunner packages and uploads the run's folder itself. Use -WorkingDirectory instead.");
                    if (!RuntimeEnvFields.Contains(p.Name))
                        throw new ArgumentException($"The runtime_env field '{p.Name}' is not one Ray knows; use {string.Join(", ", RuntimeEnvFields)}.");
                    if (p.Name == "env_vars")
                    {
                        if (p.Value.ValueKind != JsonValueKind.Object)
                            throw new ArgumentException("The runtime_env's env_vars must be a map of names to text values, such as @{ OMP_NUM_THREADS = '4' }.");
                        foreach (var v in p.Value.EnumerateObject())
                            if (v.Value.ValueKind != JsonValueKind.String)
                                throw new ArgumentException($"The runtime_env's env_vars.{v.Name} must be text (Ray refuses other values); quote it, e.g. '{v.Value.GetRawText()}'.");
                    }
                }
                return root.GetRawText().Length == json.Length ? json : JsonSerializer.Serialize(root);
            }
        }

        static double Amount(string path, object? value)
        {
            var amount = value switch
            {
                long l => (double)l,
                double d => d,
                _ => throw new ConfigValidationException(path, $"'{path}' must be a number of 0 or more, not {Describe(value)}."),
            };
            if (amount < 0 || double.IsNaN(amount) || double.IsInfinity(amount))
                throw new ConfigValidationException(path, $"'{path}' must be a number of 0 or more, not {amount.ToString(CultureInfo.InvariantCulture)}.");
            return amount;
        }

        static string CheckResourceName(string path, string name)
        {
            if (string.IsNullOrWhiteSpace(name))
                throw new ConfigValidationException(path, $"'{path}' holds a resource with an empty name.");
            if (ReservedResourceProblem(name, forConfig: true) is string problem)
                throw new ConfigValidationException(path + "." + name, $"'{path}.{name}': {problem}");
            return name;
        }

        static string Describe(object? value) => value switch
        {
            null => "nothing (null)",
            string s => $"the text '{s}'",
            _ => RayRunnerJson.ValueToJson(value),
        };
    }
}
