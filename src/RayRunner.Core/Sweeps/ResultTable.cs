using System;
using System.Collections.Generic;
using System.Linq;

namespace RayRunner.Core.Sweeps
{
    /// <summary>
    /// Results as one flat table, every row with the same columns: the run's own fields, then
    /// <c>config.&lt;dotted key&gt;</c> for every config setting any run has, then
    /// <c>metrics.&lt;name&gt;</c> for every metric any run reported, in order of first appearance.
    /// A run without a setting or a metric has null there. This is what Export-Csv needs (it takes
    /// its columns from the first row) and what a chart or a data frame wants.
    /// </summary>
    public sealed class ResultTable
    {
        public static readonly string[] RunColumns =
        {
            "RunId", "SweepId", "Status", "DurationSeconds", "StartedAt", "CompletedAt", "ErrorMessage", "CheckpointPath",
        };

        public const string ConfigPrefix = "config.";
        public const string MetricPrefix = "metrics.";

        ResultTable(IReadOnlyList<string> configKeys, IReadOnlyList<string> metricNames, IReadOnlyList<ExperimentResult> results)
        {
            ConfigKeys = configKeys;
            MetricNames = metricNames;
            Results = results;
        }

        /// <summary>Dotted config keys (lists are one value, not spread over columns).</summary>
        public IReadOnlyList<string> ConfigKeys { get; }
        public IReadOnlyList<string> MetricNames { get; }
        public IReadOnlyList<ExperimentResult> Results { get; }

        public IEnumerable<string> Columns =>
            RunColumns.Concat(ConfigKeys.Select(k => ConfigPrefix + k)).Concat(MetricNames.Select(m => MetricPrefix + m));

        public static ResultTable Of(IReadOnlyList<ExperimentResult> results)
        {
            var configKeys = new List<string>();
            var seenKeys = new HashSet<string>(StringComparer.Ordinal);
            var metrics = new List<string>();
            var seenMetrics = new HashSet<string>(StringComparer.Ordinal);
            foreach (var r in results)
            {
                foreach (var kv in Flatten(r.Config, ""))
                    if (seenKeys.Add(kv.Key)) configKeys.Add(kv.Key);
                foreach (var name in r.Metrics.Keys)
                    if (seenMetrics.Add(name)) metrics.Add(name);
            }
            return new ResultTable(configKeys, metrics, results);
        }

        /// <summary>One row: column name to value (null where the run has nothing).</summary>
        public IReadOnlyList<KeyValuePair<string, object?>> Row(ExperimentResult r)
        {
            var row = new List<KeyValuePair<string, object?>>
            {
                new("RunId", r.RunId),
                new("SweepId", r.SweepId),
                new("Status", r.Status),
                new("DurationSeconds", r.DurationSeconds),
                new("StartedAt", r.StartedAt),
                new("CompletedAt", r.CompletedAt),
                new("ErrorMessage", r.ErrorMessage),
                new("CheckpointPath", r.CheckpointPath),
            };
            var config = Flatten(r.Config, "").ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            foreach (var key in ConfigKeys)
                row.Add(new(ConfigPrefix + key, config.TryGetValue(key, out var v) ? Cell(v) : null));
            foreach (var name in MetricNames)
                row.Add(new(MetricPrefix + name, r.Metrics.TryGetValue(name, out var m) ? m : (double?)null));
            return row;
        }

        /// <summary>The config keys whose value differs between runs: what the sweep swept.</summary>
        public IReadOnlyList<string> VaryingConfigKeys()
        {
            var varying = new List<string>();
            var flat = Results.Select(r => Flatten(r.Config, "").ToDictionary(kv => kv.Key, kv => Cell(kv.Value), StringComparer.Ordinal)).ToList();
            foreach (var key in ConfigKeys)
            {
                var values = flat.Select(f => f.TryGetValue(key, out var v) ? SweepValues.Text(v, "R") : "\0missing").Distinct().Count();
                if (values > 1) varying.Add(key);
            }
            return varying;
        }

        /// <summary>A config value as one cell: scalars as they are, lists and maps as JSON text.</summary>
        public static object? Cell(object? value) => value switch
        {
            null or string or bool or long or double => value,
            _ => RayRunnerJson.ValueToJson(value),
        };

        static IEnumerable<KeyValuePair<string, object?>> Flatten(IReadOnlyDictionary<string, object?> map, string prefix)
        {
            foreach (var kv in map)
            {
                var key = prefix.Length == 0 ? kv.Key : prefix + "." + kv.Key;
                if (kv.Value is IReadOnlyDictionary<string, object?> nested && nested.Count > 0)
                    foreach (var inner in Flatten(nested, key)) yield return inner;
                else
                    yield return new KeyValuePair<string, object?>(key, kv.Value);
            }
        }
    }
}
