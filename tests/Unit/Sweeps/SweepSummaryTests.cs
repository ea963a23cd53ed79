using System;
using System.Collections.Generic;
using System.Linq;
using RayRunner.Core;
using RayRunner.Core.Sweeps;
using Xunit;

namespace RayRunner.Tests.Unit.Sweeps
{
    public class SweepSummaryTests
    {
        static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

        static ExperimentResult R(string id, string status, double? loss = null, double duration = 10, int startOffset = 0, Dictionary<string, object?>? config = null, string? acc = null) =>
            new ExperimentResult
            {
                RunId = id,
                SweepId = "s1",
                Status = status,
                Metrics = loss is double l ? new Dictionary<string, double> { ["loss"] = l } : new Dictionary<string, double>(),
                DurationSeconds = duration,
                StartedAt = T0.AddSeconds(startOffset),
                CompletedAt = T0.AddSeconds(startOffset + duration),
                Config = config ?? new Dictionary<string, object?> { ["lr"] = 0.1 },
            };

        [Fact]
        public void Counts_rate_durations_and_span_follow_the_rules()
        {
            var s = SweepSummary.Of(new[]
            {
                R("a", RunStatus.Completed, 0.5, 10, 0),
                R("b", RunStatus.Failed, null, 4, 5),
                R("c", RunStatus.Timeout, null, 30, 1),
                R("d", RunStatus.Completed, 0.2, 20, 2),
                R("e", RunStatus.Running, null, 0, 3),
            }, "loss", maximize: false);
            Assert.Equal("s1", s.SweepId);
            Assert.Equal(5, s.Total);
            Assert.Equal(2, s.Completed);
            Assert.Equal(2, s.Failed);
            Assert.Equal(1, s.Unfinished);
            Assert.Equal(0.4, s.SuccessRate, 10);
            Assert.Equal(64, s.TotalDurationSeconds);
            Assert.Equal(16, s.MeanDurationSeconds);
            Assert.Equal(T0, s.StartedAt);
            Assert.Equal(T0.AddSeconds(31), s.EndedAt);
            Assert.Equal("d", s.Best!.RunId);
            Assert.Equal(0.2, s.BestValue);
        }

        [Fact]
        public void Maximize_picks_the_highest()
        {
            var s = SweepSummary.Of(new[] { R("a", RunStatus.Completed, 0.5), R("b", RunStatus.Completed, 0.9), R("c", RunStatus.Completed, 0.1) }, "loss", maximize: true);
            Assert.Equal("b", s.Best!.RunId);
        }

        [Fact]
        public void Missing_NaN_and_infinite_values_are_ignored_and_failed_runs_never_win()
        {
            var s = SweepSummary.Of(new[]
            {
                R("nan", RunStatus.Completed, double.NaN),
                R("neginf", RunStatus.Completed, double.NegativeInfinity),
                R("missing", RunStatus.Completed),
                R("failed-but-low", RunStatus.Failed, -100),
                R("ok", RunStatus.Completed, 3),
            }, "loss", maximize: false);
            Assert.Equal("ok", s.Best!.RunId);
            Assert.Equal(1, s.Ranked);
        }

        [Fact]
        public void Ties_go_to_the_first_in_input_order_and_are_counted()
        {
            var s = SweepSummary.Of(new[] { R("a", RunStatus.Completed, 2), R("b", RunStatus.Completed, 1), R("c", RunStatus.Completed, 1) }, "loss", false);
            Assert.Equal("b", s.Best!.RunId);
            Assert.Equal(2, s.BestTies);
        }

        [Fact]
        public void No_completed_run_and_all_failed_give_no_best_and_zero_rate()
        {
            var failed = SweepSummary.Of(new[] { R("a", RunStatus.Failed, 1), R("b", RunStatus.Cancelled) }, "loss", false);
            Assert.Null(failed.Best);
            Assert.Null(failed.BestValue);
            Assert.Equal(0, failed.SuccessRate);
            Assert.Equal(1, failed.Failed);
            Assert.Equal(1, failed.Cancelled);

            var empty = SweepSummary.Of(Array.Empty<ExperimentResult>(), "loss", false);
            Assert.Equal(0, empty.Total);
            Assert.Equal(0, empty.SuccessRate);
            Assert.Equal(0, empty.MeanDurationSeconds);
            Assert.Null(empty.StartedAt);
        }

        [Fact]
        public void Default_metric_prefers_tmggs_best_val_loss()
        {
            var withBest = new[] { R("a", RunStatus.Completed, 1), new ExperimentResult { Status = RunStatus.Completed, Metrics = new Dictionary<string, double> { ["best_val_loss"] = 1 } } };
            Assert.Equal("best_val_loss", SweepSummary.DefaultMetric(withBest));
            Assert.Equal("loss", SweepSummary.DefaultMetric(new[] { R("a", RunStatus.Completed, 1) }));
            Assert.Null(SweepSummary.DefaultMetric(new[] { R("a", RunStatus.Failed) }));
        }

        [Fact]
        public void Result_table_rows_all_have_the_same_columns_whatever_the_first_row_lacks()
        {
            var results = new[]
            {
                new ExperimentResult { RunId = "f", Status = RunStatus.Failed, Config = new Dictionary<string, object?> { ["lr"] = 10.0 } },
                new ExperimentResult
                {
                    RunId = "c", Status = RunStatus.Completed,
                    Config = new Dictionary<string, object?> { ["lr"] = 0.1, ["model"] = new Dictionary<string, object?> { ["k"] = 8L }, ["layers"] = new List<object?> { 1L, 2L } },
                    Metrics = new Dictionary<string, double> { ["loss"] = 0.3, ["acc"] = 0.9 },
                },
            };
            var table = ResultTable.Of(results);
            var rows = results.Select(table.Row).ToList();
            Assert.Equal(rows[0].Select(c => c.Key), rows[1].Select(c => c.Key));
            Assert.Contains("config.model.k", rows[0].Select(c => c.Key));
            Assert.Contains("metrics.acc", rows[0].Select(c => c.Key));
            Assert.Null(rows[0].Single(c => c.Key == "metrics.acc").Value);
            Assert.Equal(8L, rows[1].Single(c => c.Key == "config.model.k").Value);
            Assert.Equal("[1,2]", rows[1].Single(c => c.Key == "config.layers").Value);
            Assert.Equal(new[] { "lr", "model.k", "layers" }, table.VaryingConfigKeys());
        }
    }
}
