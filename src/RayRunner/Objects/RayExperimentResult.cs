using System;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.Linq;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// The result of one run (type name <c>RayRunner.ExperimentResult</c>), tmgg's ExperimentResult.
    /// Each metric is also a property of its own on the pipeline object (<c>$r.loss</c>), so
    /// Sort-Object, Where-Object and Export-Csv see metrics as columns; the whole set stays in
    /// <see cref="Metrics"/> and the config in <see cref="Config"/>.
    /// </summary>
    public sealed class RayExperimentResult
    {
        public string RunId { get; internal set; } = "";
        public string? SweepId { get; internal set; }
        public string Status { get; internal set; } = RunStatus.Unknown;
        public TimeSpan Duration { get; internal set; }
        public double DurationSeconds { get; internal set; }
        /// <summary>Every metric the run reported: numbers, and (kept as text) values that were not numbers.</summary>
        public OrderedDictionary Metrics { get; internal set; } = new OrderedDictionary();
        public OrderedDictionary Config { get; internal set; } = new OrderedDictionary();
        /// <summary>The settings this run's sweep varies (<c>a.b</c> to value), all settings outside a sweep: what the table view shows.</summary>
        public OrderedDictionary SweptConfig { get; internal set; } = new OrderedDictionary();
        /// <summary>The tags given with -Tag when the run was started.</summary>
        public string[] Tags { get; internal set; } = Array.Empty<string>();
        public string? CheckpointPath { get; internal set; }
        public string? ErrorMessage { get; internal set; }
        public DateTime? StartedAt { get; internal set; }
        public DateTime? CompletedAt { get; internal set; }

        /// <summary>The Core result this object shows; the sweep cmdlets (Measure-RaySweep, ...) work on it.</summary>
        internal ExperimentResult? Source { get; private set; }

        public override string ToString() => RunId;

        internal static RayExperimentResult From(ExperimentResult r, IReadOnlyList<string>? tags = null, SweepAxes? axes = null) => new RayExperimentResult
        {
            Source = r,
            RunId = r.RunId,
            SweepId = r.SweepId,
            Status = r.Status,
            Duration = TimeSpan.FromSeconds(Math.Max(0, r.DurationSeconds)),
            DurationSeconds = r.DurationSeconds,
            // Read as JSON when turned into text (Export-Csv), not as their .NET type name.
            Metrics = new JsonTextMap(PSValues.ToOrderedMap(r.Metrics, r.TextMetrics), MetricsJson(r)),
            Config = new JsonTextMap(PSValues.ToOrderedMap(r.Config), RayRunnerJson.ConfigToJson(r.Config)),
            SweptConfig = SweptAsJsonText(axes?.Of(r.SweepId, r.Config) ?? new OrderedDictionary()),
            Tags = tags?.ToArray() ?? Array.Empty<string>(),
            TextMetricNames = r.TextMetrics.Keys.ToArray(),
            CheckpointPath = r.CheckpointPath,
            ErrorMessage = r.ErrorMessage,
            StartedAt = r.StartedAt?.LocalDateTime,
            CompletedAt = r.CompletedAt?.LocalDateTime,
        };

        /// <summary>Metrics that came as text, not numbers (for the warning).</summary>
        string[] TextMetricNames { get; set; } = Array.Empty<string>();

        static readonly HashSet<string> OwnProperties = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            nameof(RunId), nameof(SweepId), nameof(Status), nameof(Duration), nameof(DurationSeconds), nameof(Metrics),
            nameof(Config), nameof(SweptConfig), nameof(Tags), nameof(CheckpointPath), nameof(ErrorMessage), nameof(StartedAt),
            nameof(CompletedAt),
        };

        /// <summary>
        /// What the user should know about this result that the object alone would not say: metrics
        /// that were not numbers, metrics named like the result's own properties, and a completed run
        /// whose result line was damaged. One sentence each, for Write-Warning, with a key that is the
        /// same for runs with the same trouble (a sweep whose every run reports "loss": "low" is
        /// worth one warning, not one per run).
        /// </summary>
        internal IEnumerable<(string Key, string Text)> Warnings()
        {
            if (TextMetricNames.Length > 0)
                yield return ("text:" + string.Join(",", TextMetricNames),
                    $"Run {RunId} reported metrics that are not numbers: {string.Join(", ", TextMetricNames.Select(n => $"{n}={Metrics[n]}"))}. " +
                    "They are kept as text, so they do not sort or average as numbers; report numbers in RAYRUNNER_RESULT to compare runs by them." +
                    " (Later runs with the same metrics are not warned about again.)");
            var hidden = Metrics.Keys.Cast<string>().Where(OwnProperties.Contains).ToList();
            if (hidden.Count > 0)
                yield return ("hidden:" + string.Join(",", hidden),
                    $"Run {RunId} reported metrics named like properties of the result ({string.Join(", ", hidden)}); " +
                    $"the property keeps its meaning, and the metric is {string.Join(", ", hidden.Select(n => "$result.Metrics." + n))}." +
                    " (Later runs with the same metrics are not warned about again.)");
            if (Status == RunStatus.Completed && !string.IsNullOrEmpty(ErrorMessage))
                yield return ("completed-with-error:" + RunId, $"Run {RunId} completed, but: {FirstLine(ErrorMessage!)}");
        }

        static string FirstLine(string text)
        {
            var end = text.IndexOf('\n');
            return end < 0 ? text : text.Substring(0, end).TrimEnd();
        }

        /// <summary>
        /// The pipeline object: the typed result plus one NoteProperty per metric. A metric whose name
        /// is one of the result's own properties (say "Status") is left out of the top level and is
        /// reached through <c>$r.Metrics.Status</c>, so it can never hide the real property.
        /// </summary>
        /// <param name="allMetrics">
        /// Every metric name of the batch being written: a run lacking one gets it as null, so all
        /// objects of one output have the same properties and Export-Csv (which takes its columns
        /// from the first object) keeps every column, whichever run comes first.
        /// </param>
        internal PSObject ToPSObject(IEnumerable<string>? allMetrics = null)
        {
            var pso = PSValues.WithTypeName(this, TypeNames.ExperimentResult);
            foreach (System.Collections.DictionaryEntry metric in Metrics)
            {
                var name = (string)metric.Key;
                if (!OwnProperties.Contains(name) && pso.Properties[name] == null)
                    pso.Properties.Add(new PSNoteProperty(name, metric.Value));
            }
            if (allMetrics != null)
            {
                foreach (var name in allMetrics)
                    if (!OwnProperties.Contains(name) && pso.Properties[name] == null)
                        pso.Properties.Add(new PSNoteProperty(name, null));
            }
            return pso;
        }

        static JsonTextMap SweptAsJsonText(OrderedDictionary swept)
        {
            var map = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (System.Collections.DictionaryEntry e in swept) map[(string)e.Key] = e.Value?.ToString();
            return new JsonTextMap(swept, RayRunnerJson.ConfigToJson(map));
        }

        static string MetricsJson(ExperimentResult r)
        {
            // NaN and infinities are not JSON numbers; write them as the strings Python's json module reads back.
            var map = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var kv in r.Metrics)
                map[kv.Key] = double.IsNaN(kv.Value) || double.IsInfinity(kv.Value) ? kv.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) : kv.Value;
            foreach (var kv in r.TextMetrics)
                if (!map.ContainsKey(kv.Key)) map[kv.Key] = kv.Value;
            return RayRunnerJson.ConfigToJson(map);
        }
    }
}
