using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using RayRunner.Core;
using RayRunner.Core.Local;
using Xunit;

namespace RayRunner.Tests.Unit.Local
{
    public class ResultLineTests : IDisposable
    {
        readonly string _dir = Path.Combine(Path.GetTempPath(), "rr-result-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public ResultLineTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, true);

        /// <summary>What the local backend does with a finished run's log.</summary>
        static ReportedResult? FindLast(string logPath) => ResultLine.LastIn(LogFile.ReadLinesBackward(logPath));

        string Log(string text)
        {
            var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".log");
            File.WriteAllText(path, text, new UTF8Encoding(false));
            return path;
        }

        [Fact]
        public void Reads_every_field_of_the_contract()
        {
            var r = ResultLine.TryParse("RAYRUNNER_RESULT {\"status\": \"failed\", \"metrics\": {\"loss\": 0.5, \"acc\": 1}, \"checkpoint_uri\": \"s3://b/k\", \"error_message\": \"boom\"}");
            Assert.NotNull(r);
            Assert.Equal(RunStatus.Failed, r!.Status);
            Assert.Equal(0.5, r.Metrics["loss"]);
            Assert.Equal(1.0, r.Metrics["acc"]);
            Assert.Equal("s3://b/k", r.CheckpointUri);
            Assert.Equal("boom", r.ErrorMessage);
        }

        [Theory]
        [InlineData("RAYRUNNER_RESULT: {\"metrics\": {\"loss\": 1}}")]
        [InlineData("   RAYRUNNER_RESULT {\"metrics\": {\"loss\": 1}}  \r")]
        [InlineData("RAYRUNNER_RESULT\t{\"metrics\": {\"loss\": \"1\"}}")]
        public void Accepts_the_usual_spellings(string line)
        {
            Assert.Equal(1.0, ResultLine.TryParse(line)!.Metrics["loss"]);
        }

        [Theory]
        [InlineData("RAYRUNNER_RESULTS {\"metrics\": {}}")]
        [InlineData("RAYRUNNER_RESULT {\"metrics\": {\"loss\": 1}")]
        [InlineData("RAYRUNNER_RESULT [1, 2]")]
        [InlineData("RAYRUNNER_RESULT")]
        [InlineData("prefix RAYRUNNER_RESULT {}")]
        [InlineData("RAYRUNNER_RESULT not json")]
        public void Ignores_what_is_not_a_result_line(string line)
        {
            Assert.Null(ResultLine.TryParse(line));
        }

        [Fact]
        public void Python_nan_and_infinity_are_read_as_numbers_and_strings_stay_untouched()
        {
            var r = ResultLine.TryParse("RAYRUNNER_RESULT {\"metrics\": {\"a\": NaN, \"b\": Infinity, \"c\": -Infinity}, \"error_message\": \"NaN Infinity\"}");
            Assert.True(double.IsNaN(r!.Metrics["a"]));
            Assert.Equal(double.PositiveInfinity, r.Metrics["b"]);
            Assert.Equal(double.NegativeInfinity, r.Metrics["c"]);
            Assert.Equal("NaN Infinity", r.ErrorMessage);
        }

        [Fact]
        public void Values_that_are_not_numbers_are_kept_as_text_and_named_as_problems()
        {
            var r = ResultLine.TryParse("RAYRUNNER_RESULT {\"metrics\": {\"loss\": 2, \"name\": \"x\", \"list\": [1], \"flag\": true, \"none\": null}}");
            Assert.Equal(new[] { "loss" }, r!.Metrics.Keys.ToArray());
            Assert.Equal(new Dictionary<string, string> { ["name"] = "x", ["list"] = "[1]", ["flag"] = "true" }, r.TextMetrics);
            Assert.Contains("name=x, list=[1], flag=true", Assert.Single(r.Problems));
        }

        [Theory]
        [InlineData("RAYRUNNER_RESULT {\"status\": \"completed\", \"metrics\": {\"loss\": 0.", "not valid JSON")]
        [InlineData("RAYRUNNER_RESULT", "holds no JSON object")]
        [InlineData("RAYRUNNER_RESULT: [1, 2]", "holds no JSON object")]
        [InlineData("RAYRUNNER_RESULT \"done\"", "holds no JSON object")]
        public void A_garbled_last_result_line_is_reported_not_ignored(string last, string problem)
        {
            var alone = ResultLine.Scan(new[] { last, "training..." });
            Assert.Null(alone.Result);
            Assert.Contains(problem, alone.Problem);

            // An earlier good line still gives the result, and the garbled one is still named.
            var after = ResultLine.Scan(new[] { last, "RAYRUNNER_RESULT {\"metrics\": {\"loss\": 1}}" });
            Assert.Equal(1.0, after.Result!.Metrics["loss"]);
            Assert.Contains(problem, after.Problem);
        }

        [Fact]
        public void A_garbled_line_before_the_winning_one_is_no_problem()
        {
            var scan = ResultLine.Scan(new[] { "RAYRUNNER_RESULT {\"metrics\": {\"loss\": 1}}", "RAYRUNNER_RESULT {bad" });
            Assert.Equal(1.0, scan.Result!.Metrics["loss"]);
            Assert.Null(scan.Problem);
            Assert.Null(ResultLine.Scan(new[] { "RAYRUNNER_RESULTS {x", "plain output" }).Problem);
        }

        [Fact]
        public void A_run_whose_last_result_line_was_cut_short_says_so_in_its_error()
        {
            var log = Log("epoch 1\nRAYRUNNER_RESULT {\"metrics\": {\"loss\": 0.");
            var output = RunOutcome.FromExit("r1", 0, "python", RunFiles.ForLog(log), DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
            Assert.Equal(RunStatus.Completed, output.Status);
            Assert.Empty(output.Metrics);
            Assert.Contains("not valid JSON", output.ErrorMessage);
            Assert.Contains("no metrics", output.ErrorMessage);
        }

        [Fact]
        public void Text_metrics_reach_the_run_output_and_the_result()
        {
            var log = Log("RAYRUNNER_RESULT {\"metrics\": {\"loss\": \"low\", \"acc\": 0.5}}\n");
            var output = RunOutcome.FromExit("r1", 0, "python", RunFiles.ForLog(log), DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
            Assert.Null(output.ErrorMessage);
            Assert.Equal("low", output.TextMetrics!["loss"]);
            // Through the run store's JSON and back, as another session reads it.
            var stored = RayRunnerJson.Deserialize<TaskOutput>(RayRunnerJson.Serialize(output.With(status: RunStatus.Completed)))!;
            var result = ExperimentResult.FromTaskOutput(stored, "r1", new Dictionary<string, object?>());
            Assert.Equal("low", result.TextMetrics["loss"]);
            Assert.Equal(0.5, result.Metrics["acc"]);
        }

        [Fact]
        public void An_unknown_status_is_left_for_the_exit_code_to_decide()
        {
            var weird = ResultLine.TryParse("RAYRUNNER_RESULT {\"status\": \"weird\"}")!;
            Assert.Null(weird.Status);
            Assert.Contains("'weird'", Assert.Single(weird.Problems));
            // A run reports how it ended, not that it is still going.
            Assert.Null(ResultLine.TryParse("RAYRUNNER_RESULT {\"status\": \"running\"}")!.Status);
            Assert.Equal(RunStatus.Completed, ResultLine.TryParse("RAYRUNNER_RESULT {\"status\": \"SUCCESS\"}")!.Status);
        }

        [Fact]
        public void The_last_well_formed_line_of_a_noisy_log_wins()
        {
            var log = Log(
                "starting\n" +
                "RAYRUNNER_RESULT {\"metrics\": {\"loss\": 3}}\n" +
                "Traceback? no, just noise: RAYRUNNER_RESULT {\"metrics\": {\"loss\": 99}}\n" +
                "RAYRUNNER_RESULT {\"metrics\": {\"loss\": 2}}\r\n" +
                "RAYRUNNER_RESULT {\"metrics\": {\"loss\": \n" +
                "garbage \u0001\u00ff bytes\n" +
                "done");
            Assert.Equal(2.0, FindLast(log)!.Metrics["loss"]);
        }

        [Fact]
        public void No_result_line_is_null()
        {
            Assert.Null(FindLast(Log("just\nprogress\n")));
            Assert.Null(FindLast(Path.Combine(_dir, "missing.log")));
        }

        [Fact]
        public void Reading_backward_crosses_block_boundaries_intact()
        {
            var sb = new StringBuilder();
            for (var i = 0; i < 3000; i++) sb.Append("line ").Append(i).Append(" é日本\n");
            sb.Append("RAYRUNNER_RESULT {\"metrics\": {\"loss\": 7}}\n");
            sb.Append(new string('x', 40000)).Append('\n'); // one line longer than a block
            var log = Log(sb.ToString());

            var lines = LogFile.ReadLinesBackward(log).ToList();
            Assert.Equal(3002, lines.Count);
            Assert.Equal(40000, lines[0].Length);
            Assert.Equal("line 2999 é日本", lines[2]);
            Assert.Equal("line 0 é日本", lines[^1]);
            Assert.Equal(7.0, FindLast(log)!.Metrics["loss"]);
        }

        [Fact]
        public void Tail_returns_the_last_lines_with_or_without_a_final_newline()
        {
            Assert.Equal("b\nc", LogFile.Tail(Log("a\nb\nc\n"), 2));
            Assert.Equal("b\nc", LogFile.Tail(Log("a\nb\nc"), 2));
            Assert.Equal("\nc", LogFile.Tail(Log("a\n\nc"), 2));
            Assert.Equal("a\nb", LogFile.Tail(Log("a\nb"), 10));
            Assert.Equal("", LogFile.Tail(Log(""), 3));
        }

        [Fact]
        public void Proc_stat_parsing_survives_a_command_name_with_spaces_and_parentheses()
        {
            var stat = ProcStat.Parse(42, "42 (my (odd) name) S 7 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10");
            Assert.NotNull(stat);
            Assert.Equal('S', stat!.State);
            Assert.Equal(7, stat.ParentPid);
            Assert.Equal(42, stat.SessionId);
            Assert.Equal(123456, stat.StartTicks);
        }
    }
}
