using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using RayRunner.Core;
using RayRunner.Core.Sweeps.Report;
using RayRunner.Tests.Unit.Store;
using Xunit;

namespace RayRunner.Tests.Unit.Sweeps
{
    /// <summary>The sweep report in a real browser: its table, charts and script work, and it requests nothing.</summary>
    public sealed class SweepReportBrowserTests : IDisposable
    {
        readonly TempFolder _temp = new TempFolder();
        public void Dispose() => _temp.Dispose();

        static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

        /// <summary>A sweep of lr x seed x model.k with a failed run, a NaN and a hostile config value.</summary>
        internal static List<ExperimentResult> Results()
        {
            var results = new List<ExperimentResult>();
            var i = 0;
            foreach (var lr in new[] { 0.001, 0.01, 0.1 })
                foreach (var seed in new[] { 1L, 2L })
                    foreach (var k in new[] { 8L, 16L })
                    {
                        i++;
                        var failed = lr == 0.1 && seed == 2;
                        var metrics = new Dictionary<string, double>();
                        if (!failed) metrics["loss"] = Math.Abs(Math.Log10(lr) + 2) + 0.01 * seed + 0.001 * k + 0.0001 * i; // no ties
                        if (i % 3 == 0) metrics["acc"] = 0.5 + i / 100.0;
                        if (i == 5) metrics["loss"] = double.NaN;
                        results.Add(new ExperimentResult
                        {
                            RunId = $"run{i:00}",
                            SweepId = "browser",
                            Status = failed ? RunStatus.Failed : RunStatus.Completed,
                            ErrorMessage = failed ? "diverged" : null,
                            Config = new Dictionary<string, object?>
                            {
                                ["lr"] = lr, ["seed"] = seed,
                                ["model"] = new Dictionary<string, object?> { ["k"] = k, ["name"] = "<img src=http://evil.example/x.png onerror=alert(1)>" },
                            },
                            Metrics = metrics,
                            DurationSeconds = 10 + i,
                            StartedAt = T0.AddSeconds(i),
                            CompletedAt = T0.AddSeconds(100 - i),
                        });
                    }
            return results;
        }

        const string Probe = @"<script>
window.addEventListener('load', function () {
  var out = {};
  var t = document.getElementById('run-table');
  var rows = function () { return Array.prototype.slice.call(t.tBodies[0].rows); };
  out.rows = rows().length;
  out.charts = document.querySelectorAll('svg.chart').length;
  out.marks = document.querySelectorAll('svg circle.run').length;
  out.lines = document.querySelectorAll('svg.pc polyline.run').length;
  out.images = document.images.length;
  out.best = document.getElementById('best').textContent;
  var heads = t.tHead.rows[0].cells, col = -1;
  for (var i = 0; i < heads.length; i++) { if (heads[i].textContent === 'loss') { col = i; } }
  heads[col].click();
  out.asc = rows().map(function (r) { return r.getAttribute('data-run'); });
  heads[col].click();
  out.desc = rows().map(function (r) { return r.getAttribute('data-run'); });
  var f = document.getElementById('filter');
  f.value = 'failed'; f.dispatchEvent(new Event('input'));
  out.failedShown = rows().filter(function (r) { return r.style.display !== 'none'; }).length;
  f.value = 'k=16 seed=1'; f.dispatchEvent(new Event('input'));
  out.keyShown = rows().filter(function (r) { return r.style.display !== 'none'; }).map(function (r) { return r.getAttribute('data-run'); });
  out.shownText = document.getElementById('shown').textContent;
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>";

        [Fact]
        public void The_report_works_in_chromium_and_requests_nothing()
        {
            using var browser = new HeadlessChromium();
            var results = Results();
            var html = SweepReport.Render(results, "loss", maximize: false, title: null, generatedAt: T0);
            var page = Path.Combine(_temp.Path, "report.html");
            File.WriteAllText(page, html.Replace("</body>", Probe + "</body>"));

            var dom = browser.DumpDom(page);
            var match = Regex.Match(dom, "<pre id=\"probe\">(.*?)</pre>", RegexOptions.Singleline);
            Assert.True(match.Success, "The probe script did not run; the page's DOM was:\n" + dom.Substring(0, Math.Min(2000, dom.Length)));
            using var probe = JsonDocument.Parse(WebUtility.HtmlDecode(match.Groups[1].Value));
            var p = probe.RootElement;

            Assert.Equal(12, p.GetProperty("rows").GetInt32());
            // History, one per swept key (lr, seed, model.k), parallel coordinates.
            Assert.Equal(5, p.GetProperty("charts").GetInt32());
            // 9 ranked runs (12 - 2 failed - 1 NaN) in the history chart and in each of the 3 parameter charts.
            Assert.Equal(9 * 4, p.GetProperty("marks").GetInt32());
            Assert.Equal(9, p.GetProperty("lines").GetInt32());
            Assert.Equal(0, p.GetProperty("images").GetInt32()); // the hostile config value stayed text
            // run05 would win (lr=0.01, seed 1, k 8) but reported NaN: it is ignored, and run06 is best.
            Assert.Contains("Best run: run06 with loss = 0.0266", p.GetProperty("best").GetString());

            var expectedAsc = results.Where(r => r.Metrics.TryGetValue("loss", out var l) && !double.IsNaN(l))
                .OrderBy(r => r.Metrics["loss"]).Select(r => r.RunId)
                .Concat(results.Where(r => !r.Metrics.TryGetValue("loss", out var l) || double.IsNaN(l)).Select(r => r.RunId)).ToList();
            Assert.Equal(expectedAsc, p.GetProperty("asc").EnumerateArray().Select(e => e.GetString()));
            // Descending: highest loss first, runs without a loss still last.
            var desc = p.GetProperty("desc").EnumerateArray().Select(e => e.GetString()).ToList();
            Assert.Equal(expectedAsc.Take(9).Reverse(), desc.Take(9));
            Assert.Equal(expectedAsc.Skip(9).OrderBy(x => x), desc.Skip(9).OrderBy(x => x));

            Assert.Equal(2, p.GetProperty("failedShown").GetInt32());
            Assert.Equal(new[] { "run02", "run06", "run10" }, p.GetProperty("keyShown").EnumerateArray().Select(e => e.GetString()).OrderBy(x => x));
            Assert.Equal("3 of 12 runs", p.GetProperty("shownText").GetString());

            Assert.True(browser.Requests == 0, "The report made requests: " + browser.Seen);

            // Kept for a look by eye: the screenshot of the same report.
            File.WriteAllText(page, html);
            var png = Path.Combine(Path.GetTempPath(), "rayrunner-sweep-report.png");
            browser.Screenshot(page, png);
            Assert.True(new FileInfo(png).Length > 10_000);
            Assert.True(browser.Requests == 0, "The report made requests: " + browser.Seen);
        }

        /// <summary>Measures, as Chromium lays it out, every tick label of the parallel-coordinates chart against its axis.</summary>
        const string TickProbe = @"<script>
window.addEventListener('load', function () {
  var out = [];
  var axes = document.querySelectorAll('svg.pc g.pc-axis');
  for (var a = 0; a < axes.length; a++) {
    var axisX = parseFloat(axes[a].querySelector('line.axis').getAttribute('x1'));
    var marks = axes[a].querySelectorAll('line.tick-mark'), labels = axes[a].querySelectorAll('text.tick');
    for (var i = 0; i < labels.length; i++) {
      var b = labels[i].getBBox();
      out.push({ axis: a, axisX: axisX, markY: parseFloat(marks[i].getAttribute('y1')), text: labels[i].textContent,
                 x: b.x, y: b.y, w: b.width, h: b.height, paint: getComputedStyle(labels[i]).paintOrder });
    }
  }
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>";

        [Fact]
        public void Parallel_coordinates_tick_labels_clear_their_axis_and_the_point_where_runs_meet_it()
        {
            // Integer settings (epochs, seed) get one tick per value, and every run line passes
            // through those ticks: the layout that used to put labels under the lines.
            var results = new List<ExperimentResult>();
            var i = 0;
            foreach (var epochs in new[] { 5L, 10L, 20L, 40L })
                foreach (var seed in new[] { 1L, 2L, 3L })
                    results.Add(new ExperimentResult
                    {
                        RunId = $"r{++i:00}", SweepId = "ticks", Status = RunStatus.Completed,
                        Config = new Dictionary<string, object?> { ["epochs"] = epochs, ["seed"] = seed, ["lr"] = 0.001 * i },
                        Metrics = new Dictionary<string, double> { ["loss"] = 1.0 / epochs + 0.01 * seed },
                        CompletedAt = T0.AddSeconds(i),
                    });
            using var browser = new HeadlessChromium();
            var page = Path.Combine(_temp.Path, "ticks.html");
            File.WriteAllText(page, SweepReport.Render(results, "loss", maximize: false, title: null, generatedAt: T0).Replace("</body>", TickProbe + "</body>"));

            var dom = browser.DumpDom(page);
            var match = Regex.Match(dom, "<pre id=\"probe\">(.*?)</pre>", RegexOptions.Singleline);
            Assert.True(match.Success, "The probe script did not run; the page's DOM was:\n" + dom.Substring(0, Math.Min(2000, dom.Length)));
            using var probe = JsonDocument.Parse(WebUtility.HtmlDecode(match.Groups[1].Value));
            var ticks = probe.RootElement.EnumerateArray().Select(t => (
                Axis: t.GetProperty("axis").GetInt32(), AxisX: t.GetProperty("axisX").GetDouble(), MarkY: t.GetProperty("markY").GetDouble(),
                Text: t.GetProperty("text").GetString(), X: t.GetProperty("x").GetDouble(), Y: t.GetProperty("y").GetDouble(),
                W: t.GetProperty("w").GetDouble(), H: t.GetProperty("h").GetDouble(), Paint: t.GetProperty("paint").GetString())).ToList();

            // Four axes (epochs, lr, seed, loss); epochs has its four values as ticks.
            Assert.Equal(4, ticks.Select(t => t.Axis).Distinct().Count());
            Assert.Equal(new[] { "5", "10", "20", "40" }, ticks.Where(t => t.Axis == 0).Select(t => t.Text).OrderBy(t => t!.Length).ThenBy(t => t));
            foreach (var t in ticks)
            {
                // Clear of the axis line and its tick mark (3 px each side), not just beside it.
                Assert.True(t.X >= t.AxisX + 4, $"Label '{t.Text}' starts at x={t.X}, on axis {t.Axis} at x={t.AxisX}.");
                // Wholly above the point where the run lines meet the axis.
                Assert.True(t.Y + t.H <= t.MarkY + 0.5, $"Label '{t.Text}' spans y={t.Y}..{t.Y + t.H}, over its tick at y={t.MarkY}.");
                Assert.True(t.Y >= 0, $"Label '{t.Text}' is cut off at the top (y={t.Y}).");
                // A halo under the glyphs, so a line crossing the label does not hide it.
                Assert.StartsWith("stroke", t.Paint);
            }
            // Labels of one axis do not overlap one another.
            foreach (var axis in ticks.GroupBy(t => t.Axis))
            {
                var ordered = axis.OrderBy(t => t.Y).ToList();
                for (var k = 1; k < ordered.Count; k++)
                    Assert.True(ordered[k - 1].Y + ordered[k - 1].H <= ordered[k].Y + 0.5, $"Labels '{ordered[k - 1].Text}' and '{ordered[k].Text}' of axis {axis.Key} overlap.");
            }
            Assert.True(browser.Requests == 0, "The report made requests: " + browser.Seen);
        }

        [Fact]
        public void The_request_trap_sees_a_page_that_does_fetch()
        {
            // The control for the test above: without it, "0 requests" could mean the trap is blind.
            using var browser = new HeadlessChromium();
            var page = Path.Combine(_temp.Path, "fetching.html");
            File.WriteAllText(page, "<!DOCTYPE html><html><body><img src=\"http://report-assets.example/chart.png\"></body></html>");
            browser.DumpDom(page);
            Assert.True(browser.Requests > 0, "A page with a remote image made no request through the trap proxy.");
        }
    }
}
