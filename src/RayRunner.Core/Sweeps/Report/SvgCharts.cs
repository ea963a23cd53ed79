using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Text;

namespace RayRunner.Core.Sweeps.Report
{
    /// <summary>One ranked run as the charts see it.</summary>
    internal sealed class PlotRun
    {
        public PlotRun(string runId, double value, IReadOnlyDictionary<string, object?> parameters, DateTimeOffset? completedAt, bool isBest)
        {
            RunId = runId;
            Value = value;
            Parameters = parameters;
            CompletedAt = completedAt;
            IsBest = isBest;
        }

        public string RunId { get; }
        public double Value { get; }
        /// <summary>Swept config keys (dotted) to values.</summary>
        public IReadOnlyDictionary<string, object?> Parameters { get; }
        public DateTimeOffset? CompletedAt { get; }
        public bool IsBest { get; }
    }

    /// <summary>
    /// The report's charts as inline SVG, drawn here rather than by a chart library: the report
    /// stays one small file that opens offline, with nothing fetched and nothing bundled. Every run
    /// mark carries data-run (the table highlights it) and a title (the browser's own tooltip).
    /// </summary>
    internal static class SvgCharts
    {
        const int Width = 640, Height = 300, Left = 64, Right = 16, Top = 14, Bottom = 46;
        const string BestColor = "#d9480f";
        /// <summary>Half the length of a parallel-coordinates tick mark.</summary>
        const int TickMark = 3;
        /// <summary>The parallel-coordinates chart's top margin.</summary>
        const int ParallelTop = 24;

        static string N(double d) => d.ToString("0.##", CultureInfo.InvariantCulture);
        static string E(string s) => WebUtility.HtmlEncode(s);
        static double X(double pos, int width = Width, int right = Right) => Left + pos * (width - Left - right);
        static double Y(double pos, int top = Top) => top + (1 - pos) * (Height - top - Bottom);

        /// <summary>The metric in finishing order, with the best-so-far line.</summary>
        public static string History(IReadOnlyList<PlotRun> runs, string metric, bool maximize, PlotScale yScale)
        {
            var ordered = runs.OrderBy(r => r.CompletedAt ?? DateTimeOffset.MaxValue).ToList();
            var xScale = new LinearScale(1, Math.Max(2, ordered.Count));
            var sb = Open($"{metric} in finishing order, with the best so far", "history");
            Axes(sb, xScale, yScale, "finishing order", metric + yScale.Describe);
            var line = new StringBuilder();
            double? best = null;
            for (var i = 0; i < ordered.Count; i++)
            {
                var r = ordered[i];
                best = best is double b ? (maximize ? Math.Max(b, r.Value) : Math.Min(b, r.Value)) : r.Value;
                var x = X(xScale.Position((double)(i + 1)) ?? 0);
                var yBest = Y(yScale.Position(best) ?? 0);
                if (i > 0) line.Append($" H{N(x)}");
                line.Append(i == 0 ? $"M{N(x)},{N(yBest)}" : $" V{N(yBest)}");
            }
            sb.Append($"<path class=\"best-line\" d=\"{line}\" fill=\"none\" stroke=\"{BestColor}\" stroke-width=\"2\"/>");
            for (var i = 0; i < ordered.Count; i++)
                Point(sb, ordered[i], X(xScale.Position((double)(i + 1)) ?? 0), Y(yScale.Position(ordered[i].Value) ?? 0), metric, $"#{i + 1} to finish");
            Legend(sb, $"best so far ({(maximize ? "highest" : "lowest")})");
            return Close(sb);
        }

        /// <summary>The metric against one swept parameter.</summary>
        public static string Against(IReadOnlyList<PlotRun> runs, string parameter, string metric, PlotScale yScale)
        {
            var xScale = PlotScale.For(runs.Select(r => r.Parameters.TryGetValue(parameter, out var v) ? v : null));
            var sb = Open($"{metric} against {parameter}", "param");
            Axes(sb, xScale, yScale, parameter + xScale.Describe, metric + yScale.Describe);
            var band = xScale is CategoryScale c ? 0.5 / c.Count : 0;
            foreach (var r in runs)
            {
                if (!r.Parameters.TryGetValue(parameter, out var v) || xScale.Position(v) is not double px) continue;
                // Runs sharing a category are spread a little (the same way every time) so none hides another.
                var jitter = band > 0 ? (Jitter(r.RunId) - 0.5) * band : 0;
                Point(sb, r, X(px + jitter), Y(yScale.Position(r.Value) ?? 0), metric, $"{parameter}={SweepValues.Text(v)}");
            }
            return Close(sb);
        }

        /// <summary>Parallel coordinates: one axis per swept parameter and one for the metric, one line per run.</summary>
        public static string ParallelCoordinates(IReadOnlyList<PlotRun> runs, IReadOnlyList<string> parameters, string metric, bool maximize, PlotScale yScale)
        {
            var axes = parameters.Select(p => (Name: p, Scale: PlotScale.For(runs.Select(r => r.Parameters.TryGetValue(p, out var v) ? v : null)))).ToList();
            axes.Add((metric, yScale));
            // Wide enough to show at about its own size on a laptop screen (the page caps it at 1100 px).
            var width = Math.Max(960, 170 * axes.Count);
            var sb = new StringBuilder();
            sb.Append($"<svg class=\"chart pc\" viewBox=\"0 0 {width} {Height}\" role=\"img\" aria-label=\"{E("parallel coordinates of " + string.Join(", ", axes.Select(a => a.Name)))}\" xmlns=\"http://www.w3.org/2000/svg\">");
            // Room on the right for the last axis' tick labels, which sit right of their axis.
            double AxisX(int i) => axes.Count == 1 ? width / 2.0 : X((double)i / (axes.Count - 1), width, 80);
            // Room above the top tick for its label, which sits above its tick mark.
            static double Y(double pos) => SvgCharts.Y(pos, ParallelTop);

            var ranked = (maximize ? runs.OrderBy(r => r.Value) : runs.OrderByDescending(r => r.Value)).ToList(); // worst first, best drawn last (on top)
            for (var k = 0; k < ranked.Count; k++)
            {
                var r = ranked[k];
                var points = new List<string>();
                for (var i = 0; i < axes.Count; i++)
                {
                    var value = i == axes.Count - 1 ? r.Value : r.Parameters.TryGetValue(axes[i].Name, out var v) ? v : null;
                    if (axes[i].Scale.Position(value) is double p) points.Add($"{N(AxisX(i))},{N(Y(p))}");
                }
                var color = r.IsBest ? BestColor : Shade(ranked.Count < 2 ? 1 : (double)k / (ranked.Count - 1));
                sb.Append($"<polyline class=\"run{(r.IsBest ? " best" : "")}\" data-run=\"{E(r.RunId)}\" points=\"{string.Join(" ", points)}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"{(r.IsBest ? 3 : 1.5)}\" stroke-opacity=\"0.85\">");
                sb.Append($"<title>{E(r.RunId)}: {E(metric)} = {E(SweepValues.Text(r.Value))}</title></polyline>");
            }
            for (var i = 0; i < axes.Count; i++)
            {
                var x = AxisX(i);
                sb.Append("<g class=\"pc-axis\">");
                sb.Append($"<line class=\"axis\" x1=\"{N(x)}\" y1=\"{N(Y(0))}\" x2=\"{N(x)}\" y2=\"{N(Y(1))}\" stroke=\"#333\"/>");
                foreach (var (pos, label) in axes[i].Scale.Ticks())
                {
                    // A tick mark on the axis, its label clear of the axis line and just above the mark:
                    // on a category axis (epochs, seeds) every run line meets the axis at the mark itself,
                    // so a label centred on it was drawn over by the lines. The label's halo (report.css)
                    // keeps it readable where a line still crosses it.
                    sb.Append($"<line class=\"tick-mark\" x1=\"{N(x - TickMark)}\" x2=\"{N(x + TickMark)}\" y1=\"{N(Y(pos))}\" y2=\"{N(Y(pos))}\" stroke=\"#333\"/>");
                    sb.Append($"<text x=\"{N(x + TickMark + 3)}\" y=\"{N(Y(pos) - 5)}\" class=\"tick\">{E(label)}</text>");
                }
                sb.Append($"<text x=\"{N(x)}\" y=\"{Height - 18}\" text-anchor=\"middle\" class=\"axis-title\">{E(axes[i].Name + axes[i].Scale.Describe)}</text>");
                sb.Append("</g>");
            }
            return Close(sb);
        }

        static StringBuilder Open(string label, string kind) =>
            new StringBuilder($"<svg class=\"chart {kind}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{E(label)}\" xmlns=\"http://www.w3.org/2000/svg\">");

        static string Close(StringBuilder sb) => sb.Append("</svg>").ToString();

        static void Axes(StringBuilder sb, PlotScale x, PlotScale y, string xTitle, string yTitle)
        {
            sb.Append($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{Width - Left - Right}\" height=\"{Height - Top - Bottom}\" fill=\"#fafafa\" stroke=\"#ccc\"/>");
            foreach (var (pos, label) in y.Ticks())
            {
                sb.Append($"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{N(Y(pos))}\" y2=\"{N(Y(pos))}\" stroke=\"#e6e6e6\"/>");
                sb.Append($"<text x=\"{Left - 6}\" y=\"{N(Y(pos) + 4)}\" text-anchor=\"end\" class=\"tick\">{E(label)}</text>");
            }
            foreach (var (pos, label) in x.Ticks())
                sb.Append($"<text x=\"{N(X(pos))}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\" class=\"tick\">{E(label)}</text>");
            sb.Append($"<text x=\"{N(X(0.5))}\" y=\"{Height - 8}\" text-anchor=\"middle\" class=\"axis-title\">{E(xTitle)}</text>");
            sb.Append($"<text transform=\"translate(14 {N(Y(0.5))}) rotate(-90)\" text-anchor=\"middle\" class=\"axis-title\">{E(yTitle)}</text>");
        }

        static void Point(StringBuilder sb, PlotRun r, double x, double y, string metric, string where)
        {
            sb.Append($"<circle class=\"run{(r.IsBest ? " best" : "")}\" data-run=\"{E(r.RunId)}\" cx=\"{N(x)}\" cy=\"{N(y)}\" r=\"{(r.IsBest ? 6 : 4)}\" fill=\"{(r.IsBest ? BestColor : "#1c7ed6")}\" fill-opacity=\"0.8\">");
            sb.Append($"<title>{E(r.RunId)} ({E(where)}): {E(metric)} = {E(SweepValues.Text(r.Value))}</title></circle>");
        }

        static void Legend(StringBuilder sb, string text)
        {
            sb.Append($"<line x1=\"{Width - Right - 190}\" x2=\"{Width - Right - 168}\" y1=\"{Top + 12}\" y2=\"{Top + 12}\" stroke=\"{BestColor}\" stroke-width=\"2\"/>");
            sb.Append($"<text x=\"{Width - Right - 162}\" y=\"{Top + 16}\" class=\"tick\">{E(text)}</text>");
        }

        /// <summary>From light (t = 0, worst) to dark blue (t = 1, best).</summary>
        static string Shade(double t)
        {
            int Mix(int a, int b) => (int)Math.Round(a + (b - a) * t);
            return $"#{Mix(0xc5, 0x0b):x2}{Mix(0xdb, 0x3d):x2}{Mix(0xf0, 0x91):x2}";
        }

        /// <summary>A fixed pseudo-random 0..1 per run id (FNV-1a), so a report looks the same every time.</summary>
        static double Jitter(string runId)
        {
            uint h = 2166136261;
            foreach (var ch in runId) h = unchecked((h ^ ch) * 16777619);
            return (h % 1000) / 999.0;
        }
    }
}
