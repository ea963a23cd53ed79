using System;
using System.Collections.Generic;
using System.Linq;

namespace RayRunner.Core.Sweeps
{
    /// <summary>
    /// What a sweep came to, with tmgg's summary fields: counts, success rate, durations, when it
    /// ran, and the best run by one metric.
    /// </summary>
    /// <remarks>
    /// The rules (tmgg's coordinator summary, made precise):
    /// <list type="bullet">
    /// <item>Total counts every result given; Completed those with status completed; Failed those
    /// failed or timed out; Cancelled and Unfinished (queued, pending, running, unknown) the rest.</item>
    /// <item>SuccessRate = Completed / Total (0 when there are no results).</item>
    /// <item>Mean and total duration over the finished runs that recorded one (a failed run used
    /// its machine time too); StartedAt is the earliest start, EndedAt the latest end.</item>
    /// <item>The best run is chosen among completed runs only, by the metric, lowest for minimize
    /// and highest for maximize; a run whose metric is missing, NaN or infinite is ignored.
    /// Equal values: the first in input order wins, and <see cref="BestTies"/> says how many share it.</item>
    /// </list>
    /// </remarks>
    public sealed class SweepSummary
    {
        public string? SweepId { get; internal set; }
        public int Total { get; internal set; }
        public int Completed { get; internal set; }
        public int Failed { get; internal set; }
        public int Cancelled { get; internal set; }
        public int Unfinished { get; internal set; }
        public double SuccessRate { get; internal set; }
        public double MeanDurationSeconds { get; internal set; }
        public double TotalDurationSeconds { get; internal set; }
        public DateTimeOffset? StartedAt { get; internal set; }
        public DateTimeOffset? EndedAt { get; internal set; }
        public string Metric { get; internal set; } = "";
        public bool Maximize { get; internal set; }
        /// <summary>Completed runs with a finite value of the metric: the candidates for best.</summary>
        public int Ranked { get; internal set; }
        public ExperimentResult? Best { get; internal set; }
        public double? BestValue { get; internal set; }
        /// <summary>How many ranked runs share the best value (1 when there is no tie).</summary>
        public int BestTies { get; internal set; }

        /// <summary>Summarizes <paramref name="results"/> by <paramref name="metric"/>.</summary>
        public static SweepSummary Of(IReadOnlyList<ExperimentResult> results, string metric, bool maximize)
        {
            if (results == null) throw new ArgumentNullException(nameof(results));
            if (string.IsNullOrEmpty(metric)) throw new ArgumentException("Name the metric to rank runs by.", nameof(metric));
            var summary = new SweepSummary { Metric = metric, Maximize = maximize, Total = results.Count };
            var sweepIds = results.Select(r => r.SweepId).Distinct().ToList();
            summary.SweepId = sweepIds.Count == 1 ? sweepIds[0] : null;

            var durations = new List<double>();
            foreach (var r in results)
            {
                switch (r.Status)
                {
                    case RunStatus.Completed: summary.Completed++; break;
                    case RunStatus.Failed: case RunStatus.Timeout: summary.Failed++; break;
                    case RunStatus.Cancelled: summary.Cancelled++; break;
                    default: summary.Unfinished++; break;
                }
                if (RunStatus.IsTerminal(r.Status) && r.DurationSeconds > 0) durations.Add(r.DurationSeconds);
                if (r.StartedAt is { } s && (summary.StartedAt == null || s < summary.StartedAt)) summary.StartedAt = s;
                if (r.CompletedAt is { } e && (summary.EndedAt == null || e > summary.EndedAt)) summary.EndedAt = e;
            }
            summary.SuccessRate = summary.Total == 0 ? 0 : (double)summary.Completed / summary.Total;
            summary.TotalDurationSeconds = durations.Sum();
            summary.MeanDurationSeconds = durations.Count == 0 ? 0 : durations.Average();

            foreach (var r in results)
            {
                if (r.Status != RunStatus.Completed || !TryMetric(r, metric, out var value)) continue;
                summary.Ranked++;
                if (summary.BestValue is not double best || (maximize ? value > best : value < best))
                {
                    summary.Best = r;
                    summary.BestValue = value;
                    summary.BestTies = 1;
                }
                else if (value == best)
                {
                    summary.BestTies++;
                }
            }
            return summary;
        }

        /// <summary>A metric's value when it is there and finite.</summary>
        public static bool TryMetric(ExperimentResult result, string metric, out double value)
        {
            if (result.Metrics.TryGetValue(metric, out value) && !double.IsNaN(value) && !double.IsInfinity(value)) return true;
            value = double.NaN;
            return false;
        }

        /// <summary>
        /// The metric to rank by when none is named: tmgg's best_val_loss when any run reports it,
        /// else val_loss, else loss, else the first metric any completed run reports.
        /// </summary>
        public static string? DefaultMetric(IReadOnlyList<ExperimentResult> results)
        {
            foreach (var preferred in new[] { "best_val_loss", "val_loss", "loss" })
                if (results.Any(r => r.Metrics.ContainsKey(preferred))) return preferred;
            return results.Where(r => r.Status == RunStatus.Completed).SelectMany(r => r.Metrics.Keys).FirstOrDefault()
                ?? results.SelectMany(r => r.Metrics.Keys).FirstOrDefault();
        }
    }
}
