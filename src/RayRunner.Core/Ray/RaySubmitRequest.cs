using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// Writes the body of POST /api/jobs/ for one run. Fields the server's Ray version does not
    /// know are left out (an unknown field is a 400), nulls are never written, metadata values are
    /// strings (anything else is a 400).
    /// </summary>
    internal static class RaySubmitRequest
    {
        public const string MetaRunId = "rayrunner_run_id";
        public const string MetaSweepId = "rayrunner_sweep_id";
        public const string MetaVersion = "rayrunner_version";
        public const string MetaTags = "rayrunner_tags";

        public static byte[] Build(TaskSpec spec, TaskOptions options, RayVersionInfo version, string? workingDirUri, Func<string, bool> clusterHasResource)
        {
            if (!version.SupportsSubmissionId)
                throw new NotSupportedException($"The Ray cluster runs Ray {version.RayVersion}; RayRunner needs Ray 2.0 or later (submission ids). Upgrade the cluster.");
            var wantsGpus = options.NumGpus is double g && g > 0;
            if (wantsGpus && !version.SupportsEntrypointResources)
                throw new NotSupportedException($"The Ray cluster runs Ray {version.RayVersion}, which cannot reserve GPUs for a job (entrypoint_num_gpus needs Ray 2.2). Upgrade the cluster or run without GPUs.");

            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                w.WriteStartObject();
                w.WriteString("entrypoint", EntrypointTemplate.ToPosixShell(spec.Arguments()));
                w.WriteString("submission_id", spec.SubmissionId);

                w.WriteStartObject("runtime_env");
                using var userEnv = options.RuntimeEnv == null ? null : JsonDocument.Parse(options.RuntimeEnv);
                // The user's runtime_env passes through (pip, conda, py_modules, ...); working_dir and env_vars are merged below.
                if (userEnv != null)
                    foreach (var p in userEnv.RootElement.EnumerateObject())
                        if (p.Name != "working_dir" && p.Name != "env_vars") p.WriteTo(w);
                if (workingDirUri != null) w.WriteString("working_dir", workingDirUri);
                w.WriteStartObject("env_vars");
                // runtime_env env_vars, then -Environment, then the contract's variables: the more specific wins.
                var env = new Dictionary<string, string>(StringComparer.Ordinal);
                if (userEnv != null && userEnv.RootElement.TryGetProperty("env_vars", out var userVars) && userVars.ValueKind == JsonValueKind.Object)
                    foreach (var v in userVars.EnumerateObject())
                        if (v.Value.ValueKind == JsonValueKind.String) env[v.Name] = v.Value.GetString()!;
                foreach (var kv in spec.Environment) env[kv.Key] = kv.Value;
                foreach (var kv in spec.ContractEnvironment()) env[kv.Key] = kv.Value;
                foreach (var kv in env) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
                w.WriteEndObject();

                w.WriteStartObject("metadata");
                w.WriteString(MetaRunId, spec.RunId);
                if (spec.SweepId != null) w.WriteString(MetaSweepId, spec.SweepId);
                w.WriteString(MetaVersion, RayJobsClient.UserAgent.Substring("RayRunner/".Length));
                // Tags show in Ray's dashboard with the job (metadata values must be strings).
                if (spec.Input.AdditionalTags.Count > 0) w.WriteString(MetaTags, string.Join(",", spec.Input.AdditionalTags));
                w.WriteEndObject();

                if (version.SupportsEntrypointResources)
                {
                    if (options.NumCpus > 0) w.WriteNumber("entrypoint_num_cpus", options.NumCpus);
                    if (wantsGpus) w.WriteNumber("entrypoint_num_gpus", options.NumGpus!.Value);
                    // Ray 2.8 knows entrypoint_memory; an older head is told nothing of it (the handshake says so in -Verbose).
                    if (options.MemoryBytes is long memory && memory > 0 && version.SupportsEntrypointMemory) w.WriteNumber("entrypoint_memory", memory);
                    var resources = new List<KeyValuePair<string, double>>();
                    // experiment_slot only where the cluster has it (else every job would wait PENDING);
                    // a resource the user asked for is always sent: a missing one is the user's to see (the PENDING warning says so).
                    foreach (var r in options.Resources)
                        if (r.Value > 0 && (r.Key != ClusterOptions.ExperimentSlotResource || clusterHasResource(r.Key))) resources.Add(r);
                    if (resources.Count > 0)
                    {
                        w.WriteStartObject("entrypoint_resources");
                        foreach (var r in resources) w.WriteNumber(r.Key, r.Value);
                        w.WriteEndObject();
                    }
                }
                w.WriteEndObject();
            }
            return buffer.ToArray();
        }

        /// <summary>What a job asks the cluster for, in words ("1 CPU, 1 experiment_slot"), for the long-PENDING warning.</summary>
        public static string DescribeAsk(TaskOptions options)
        {
            var parts = new List<string>();
            if (options.NumCpus > 0) parts.Add(RayPendingWarning.Number(options.NumCpus) + " CPU");
            if (options.NumGpus is double g && g > 0) parts.Add(RayPendingWarning.Number(g) + " GPU");
            if (options.MemoryBytes is long m && m > 0) parts.Add(RayPendingWarning.Number(m / (1024.0 * 1024 * 1024)) + " GiB memory");
            foreach (var r in options.Resources)
                if (r.Value > 0) parts.Add(RayPendingWarning.Number(r.Value) + " " + r.Key);
            return parts.Count == 0 ? "no resources" : string.Join(", ", parts);
        }

        /// <summary>Reads "0.0/4.0 experiment_slot" style lines of <c>ray status</c>: the resources the cluster has.</summary>
        public static IReadOnlyDictionary<string, double> ParseClusterResources(string? statusText)
        {
            var result = new Dictionary<string, double>(StringComparer.Ordinal);
            if (statusText == null) return result;
            foreach (var raw in statusText.Split('\n'))
            {
                var line = raw.Trim();
                var space = line.IndexOf(' ');
                if (space <= 0) continue;
                var amounts = line.Substring(0, space);
                var slash = amounts.IndexOf('/');
                if (slash <= 0) continue;
                var name = line.Substring(space + 1).Trim();
                var paren = name.IndexOf(' ');
                if (paren > 0) name = name.Substring(0, paren); // "(2.0 used of 4.0 reserved in placement groups)"
                if (double.TryParse(amounts.Substring(slash + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var total) && name.Length > 0)
                    result[name] = total;
            }
            return result;
        }
    }
}
