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
                if (workingDirUri != null) w.WriteString("working_dir", workingDirUri);
                w.WriteStartObject("env_vars");
                // The contract's variables win over same-named user ones.
                var env = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var kv in spec.Environment) env[kv.Key] = kv.Value;
                foreach (var kv in spec.ContractEnvironment()) env[kv.Key] = kv.Value;
                foreach (var kv in env) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
                w.WriteEndObject();

                w.WriteStartObject("metadata");
                w.WriteString(MetaRunId, spec.RunId);
                if (spec.SweepId != null) w.WriteString(MetaSweepId, spec.SweepId);
                w.WriteString(MetaVersion, RayJobsClient.UserAgent.Substring("RayRunner/".Length));
                w.WriteEndObject();

                if (version.SupportsEntrypointResources)
                {
                    if (options.NumCpus > 0) w.WriteNumber("entrypoint_num_cpus", options.NumCpus);
                    if (wantsGpus) w.WriteNumber("entrypoint_num_gpus", options.NumGpus!.Value);
                    var resources = new List<KeyValuePair<string, double>>();
                    foreach (var r in options.Resources)
                        if (r.Value > 0 && clusterHasResource(r.Key)) resources.Add(r);
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
