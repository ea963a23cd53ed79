using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Reflection;
using System.Text;

namespace RayRunner.Core.Sweeps.Report
{
    /// <summary>
    /// Writes a sweep's results as one self-contained HTML page: the summary, the charts (inline
    /// SVG) and a sortable, filterable table of runs. The page loads nothing: its style and script
    /// are inline, and its Content-Security-Policy forbids every request, so it opens offline and
    /// can be mailed as it is. Every value from a config or a run is HTML-escaped.
    /// </summary>
    public static class SweepReport
    {
        public static string Render(IReadOnlyList<ExperimentResult> results, string? metric, bool maximize, string? title, DateTimeOffset generatedAt)
        {
            metric ??= SweepSummary.DefaultMetric(results) ?? "loss";
            var summary = SweepSummary.Of(results, metric, maximize);
            var table = ResultTable.Of(results);
            var swept = table.VaryingConfigKeys();
            title ??= summary.SweepId != null ? $"Sweep {summary.SweepId}" : "Sweep report";

            var sb = new StringBuilder();
            sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
            // No request of any kind may leave the page: shared reports must not phone home or break offline.
            sb.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">");
            sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
            sb.Append($"<meta name=\"generator\" content=\"RayRunner\"><title>{E(title)}</title><style>{Asset("report.css")}</style></head><body>");
            sb.Append($"<header><h1>{E(title)}</h1><p class=\"sub\">Generated {E(Stamp(generatedAt))} by RayRunner · ranked by <b>{E(metric)}</b> ({(maximize ? "higher" : "lower")} is better)</p></header>");

            Summary(sb, summary, swept);
            Charts(sb, results, summary, swept);
            Table(sb, table, swept, summary);
            sb.Append($"<script>{Asset("report.js")}</script></body></html>\n");
            return sb.ToString();
        }

        static void Summary(StringBuilder sb, SweepSummary s, IReadOnlyList<string> swept)
        {
            sb.Append("<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">");
            Card(sb, "Runs", s.Total.ToString(CultureInfo.InvariantCulture));
            Card(sb, "Completed", s.Completed.ToString(CultureInfo.InvariantCulture));
            Card(sb, "Failed", s.Failed.ToString(CultureInfo.InvariantCulture) + (s.Cancelled > 0 ? $" (+{s.Cancelled} cancelled)" : "") + (s.Unfinished > 0 ? $" ({s.Unfinished} unfinished)" : ""));
            Card(sb, "Success rate", s.SuccessRate.ToString("P0", CultureInfo.InvariantCulture));
            Card(sb, "Mean duration", Duration(s.MeanDurationSeconds));
            Card(sb, "Total duration", Duration(s.TotalDurationSeconds));
            Card(sb, "Started", s.StartedAt is { } a ? Stamp(a) : "–");
            Card(sb, "Ended", s.EndedAt is { } b ? Stamp(b) : "–");
            sb.Append("</div>");
            if (s.Best != null)
            {
                var settings = swept.Select(k => DottedKey.TryGet(s.Best.Config, k, out var v) ? $"{k} = {SweepValues.Text(v)}" : null).Where(x => x != null);
                sb.Append($"<p class=\"best\" id=\"best\">Best run: <b data-run=\"{E(s.Best.RunId)}\">{E(s.Best.RunId)}</b> with {E(s.Metric)} = <b>{E(SweepValues.Text(s.BestValue, "G6"))}</b>");
                if (s.BestTies > 1) sb.Append($" (tied with {s.BestTies - 1} other run{(s.BestTies > 2 ? "s" : "")}; the first listed wins)");
                sb.Append($"<br><span class=\"cfg\">{E(string.Join(", ", settings))}</span></p>");
            }
            else
            {
                sb.Append($"<p class=\"best none\" id=\"best\">No completed run reported a finite {E(s.Metric)}, so there is no best run yet.</p>");
            }
            sb.Append("</section>");
        }

        static void Charts(StringBuilder sb, IReadOnlyList<ExperimentResult> results, SweepSummary s, IReadOnlyList<string> swept)
        {
            var runs = results
                .Where(r => r.Status == RunStatus.Completed && SweepSummary.TryMetric(r, s.Metric, out _))
                .Select(r => new PlotRun(r.RunId, r.Metrics[s.Metric],
                    swept.ToDictionary(k => k, k => DottedKey.TryGet(r.Config, k, out var v) ? ResultTable.Cell(v) : null, StringComparer.Ordinal),
                    r.CompletedAt, ReferenceEquals(r, s.Best)))
                .ToList();
            sb.Append("<section id=\"charts\"><h2>Charts</h2>");
            if (runs.Count == 0)
            {
                sb.Append($"<p class=\"empty\">No completed run reported a finite {E(s.Metric)}; nothing to chart.</p></section>");
                return;
            }
            var yScale = PlotScale.For(runs.Select(r => (object?)r.Value));
            sb.Append("<div class=\"grid\"><figure>").Append(SvgCharts.History(runs, s.Metric, s.Maximize, yScale)).Append($"<figcaption>{E(s.Metric)} of each completed run in the order runs finished; the line is the best so far.</figcaption></figure>");
            if (swept.Count == 0) sb.Append("</div>");
            else
            {
                foreach (var p in swept)
                    sb.Append("<figure>").Append(SvgCharts.Against(runs, p, s.Metric, yScale)).Append($"<figcaption>{E(s.Metric)} against {E(p)}</figcaption></figure>");
                sb.Append("</div><figure class=\"wide\">").Append(SvgCharts.ParallelCoordinates(runs, swept, s.Metric, s.Maximize, yScale))
                  .Append("<figcaption>Parallel coordinates: each line is a run, through its value of every swept parameter to its metric; darker lines are better runs, the orange line is the best.</figcaption></figure>");
            }
            sb.Append("</section>");
        }

        static void Table(StringBuilder sb, ResultTable table, IReadOnlyList<string> swept, SweepSummary s)
        {
            var columns = new List<(string Title, Func<ExperimentResult, object?> Value)>
            {
                ("Run", r => r.RunId),
                ("Status", r => r.Status),
            };
            columns.AddRange(swept.Select(k => (k, (Func<ExperimentResult, object?>)(r => DottedKey.TryGet(r.Config, k, out var v) ? ResultTable.Cell(v) : null))));
            columns.AddRange(table.MetricNames.Select(m => (m, (Func<ExperimentResult, object?>)(r => r.Metrics.TryGetValue(m, out var v) ? v : null))));
            columns.Add(("Duration (s)", r => Math.Round(r.DurationSeconds, 2)));
            columns.Add(("Error", r => r.ErrorMessage));

            sb.Append("<section id=\"runs\"><h2>Runs</h2><div class=\"controls\"><label>Filter <input id=\"filter\" type=\"search\" placeholder=\"text in any column, e.g. completed or lr=0.01\"></label> ");
            sb.Append($"<span id=\"shown\">{table.Results.Count} of {table.Results.Count} runs</span></div>");
            sb.Append("<table id=\"run-table\"><thead><tr>");
            foreach (var (title, _) in columns)
                sb.Append($"<th scope=\"col\" title=\"sort by {E(title)}\">{E(title)}</th>");
            sb.Append("</tr></thead><tbody>");
            foreach (var r in table.Results)
            {
                var best = ReferenceEquals(r, s.Best);
                sb.Append($"<tr data-run=\"{E(r.RunId)}\" class=\"{E(r.Status)}{(best ? " best" : "")}\"");
                // The filter also matches "key=value" of the swept settings, as New-RaySweep labels them.
                var search = string.Join(" ", swept.Select(k => k + "=" + (DottedKey.TryGet(r.Config, k, out var v) ? SweepValues.Text(v) : "")));
                sb.Append($" data-search=\"{E(search)}\">");
                foreach (var (_, value) in columns)
                {
                    var v = value(r);
                    var number = SweepValues.AsNumber(v);
                    var sortKey = number is double d ? $" data-v=\"{(double.IsNaN(d) ? "NaN" : d.ToString("R", CultureInfo.InvariantCulture))}\"" : "";
                    sb.Append($"<td{sortKey}>{E(v == null ? "" : SweepValues.Text(v, number is double ? "G6" : null))}</td>");
                }
                sb.Append("</tr>");
            }
            sb.Append("</tbody></table></section>");
        }

        static void Card(StringBuilder sb, string label, string value) =>
            sb.Append($"<div class=\"card\"><span class=\"label\">{E(label)}</span><span class=\"value\">{E(value)}</span></div>");

        static string Duration(double seconds)
        {
            var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
            return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h {t.Minutes}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m {t.Seconds}s" : $"{seconds.ToString("0.##", CultureInfo.InvariantCulture)} s";
        }

        static string Stamp(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
        static string E(string? s) => WebUtility.HtmlEncode(s ?? "");

        static string Asset(string name)
        {
            using var stream = typeof(SweepReport).Assembly.GetManifestResourceStream("RayRunner.Core.Sweeps.Report." + name)
                ?? throw new InvalidOperationException($"The report asset {name} is missing from RayRunner.Core.dll.");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var text = reader.ReadToEnd();
            // Inlined in <style>/<script>: a "</" would end the element early.
            if (text.Contains("</")) throw new InvalidOperationException($"The report asset {name} contains '</', which cannot be inlined.");
            return text;
        }
    }
}
