using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace RayRunner.Core
{
    /// <summary>
    /// Reads a checked runtime_env (<see cref="RunResources.CheckRuntimeEnv"/>) for a backend that
    /// is not Ray: its env_vars, which any backend can apply, and the names of the fields only Ray
    /// can (pip, conda, py_modules, ...).
    /// </summary>
    public static class RuntimeEnvReader
    {
        public const string EnvVars = "env_vars";

        /// <summary>The runtime_env's env_vars (text values, as the check guarantees); empty when there are none.</summary>
        public static IReadOnlyDictionary<string, string> EnvVarsOf(string? runtimeEnvJson)
        {
            var vars = new Dictionary<string, string>(StringComparer.Ordinal);
            if (string.IsNullOrEmpty(runtimeEnvJson)) return vars;
            using var doc = JsonDocument.Parse(runtimeEnvJson!);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty(EnvVars, out var map) && map.ValueKind == JsonValueKind.Object)
                foreach (var v in map.EnumerateObject())
                    if (v.Value.ValueKind == JsonValueKind.String) vars[v.Name] = v.Value.GetString()!;
            return vars;
        }

        /// <summary>The runtime_env's fields other than env_vars, in the order given.</summary>
        public static IReadOnlyList<string> OtherThanEnvVars(string? runtimeEnvJson)
        {
            if (string.IsNullOrEmpty(runtimeEnvJson)) return Array.Empty<string>();
            using var doc = JsonDocument.Parse(runtimeEnvJson!);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return Array.Empty<string>();
            return doc.RootElement.EnumerateObject().Select(p => p.Name).Where(n => n != EnvVars).ToList();
        }

        /// <summary>
        /// The spec with the runtime_env's env_vars added under its own environment, which wins, as
        /// on Ray (runtime_env env_vars, then the run's environment, then RAYRUNNER_* variables).
        /// </summary>
        public static TaskSpec WithEnvVars(TaskSpec spec, string? runtimeEnvJson)
        {
            if (spec == null) throw new ArgumentNullException(nameof(spec));
            var vars = EnvVarsOf(runtimeEnvJson);
            if (vars.Count == 0) return spec;
            var merged = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var kv in vars) merged[kv.Key] = kv.Value;
            foreach (var kv in spec.Environment) merged[kv.Key] = kv.Value;
            return spec.WithEnvironment(merged);
        }
    }
}
