using System;
using System.Collections.Generic;
using System.Collections.Specialized;
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
        public OrderedDictionary Metrics { get; internal set; } = new OrderedDictionary();
        public OrderedDictionary Config { get; internal set; } = new OrderedDictionary();
        public string? CheckpointPath { get; internal set; }
        public string? ErrorMessage { get; internal set; }
        public DateTime? StartedAt { get; internal set; }
        public DateTime? CompletedAt { get; internal set; }

        /// <summary>The Core result this object shows; the sweep cmdlets (Measure-RaySweep, ...) work on it.</summary>
        internal ExperimentResult? Source { get; private set; }

        public override string ToString() => RunId;

        internal static RayExperimentResult From(ExperimentResult r) => new RayExperimentResult
        {
            Source = r,
            RunId = r.RunId,
            SweepId = r.SweepId,
            Status = r.Status,
            Duration = TimeSpan.FromSeconds(Math.Max(0, r.DurationSeconds)),
            DurationSeconds = r.DurationSeconds,
            Metrics = new JsonTextMap(PSValues.ToOrderedMap(r.Metrics), MetricsJson(r.Metrics)),
            Config = new JsonTextMap(PSValues.ToOrderedMap(r.Config), RayRunnerJson.ConfigToJson(r.Config)),
            CheckpointPath = r.CheckpointPath,
            ErrorMessage = r.ErrorMessage,
            StartedAt = r.StartedAt?.LocalDateTime,
            CompletedAt = r.CompletedAt?.LocalDateTime,
        };

        static readonly HashSet<string> OwnProperties = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            nameof(RunId), nameof(SweepId), nameof(Status), nameof(Duration), nameof(DurationSeconds), nameof(Metrics),
            nameof(Config), nameof(CheckpointPath), nameof(ErrorMessage), nameof(StartedAt), nameof(CompletedAt),
        };

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

        static string MetricsJson(IReadOnlyDictionary<string, double> metrics)
        {
            // NaN and infinities are not JSON numbers; write them as the strings Python's json module reads back.
            var map = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var kv in metrics)
                map[kv.Key] = double.IsNaN(kv.Value) || double.IsInfinity(kv.Value) ? kv.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) : kv.Value;
            return RayRunnerJson.ConfigToJson(map);
        }
    }
}
