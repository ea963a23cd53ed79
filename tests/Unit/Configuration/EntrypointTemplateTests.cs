using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using RayRunner.Core;
using RayRunner.Tests.Unit.Local;
using Xunit;

namespace RayRunner.Tests.Unit.Configuration
{
    public class HydraOverridesTests
    {
        [Fact]
        public void FlattensNestedMapsIntoDottedOverridesOnePerArgument()
        {
            var config = ExperimentConfig.Normalize("{\"lr\": 0.01, \"model\": {\"dim\": 64, \"act\": \"relu\"}, \"tags\": [\"a\", \"b\"], \"ckpt\": null, \"fast\": true, \"empty\": {}}");

            var args = HydraOverrides.Flatten(config);

            Assert.Equal(new[] { "lr=0.01", "model.dim=64", "model.act=relu", "tags=[a,b]", "ckpt=null", "fast=true", "empty={}" }, args);
        }

        [Theory]
        [InlineData(1.0, "1.0")]
        [InlineData(1e-5, "1E-05")]
        [InlineData(-2.5, "-2.5")]
        public void FloatsStayFloats(double value, string expected)
        {
            Assert.Equal(expected, HydraOverrides.FormatValue(value));
        }

        [Theory]
        [InlineData("true", "'true'")]
        [InlineData("1", "'1'")]
        [InlineData("null", "'null'")]
        [InlineData("a b", "'a b'")]
        [InlineData("it's", "'it\\'s'")]
        [InlineData("$(rm -rf /)", "'$(rm -rf /)'")]
        [InlineData("path/to/data", "path/to/data")]
        public void StringsHydraWouldMisreadAreQuoted(string value, string expected)
        {
            Assert.Equal(expected, HydraOverrides.FormatValue(value));
        }
    }

    public class EntrypointTemplateTests
    {
        static TaskInput Input(string json, string runId = "ab12cd34") =>
            new TaskInput(ExperimentConfig.Normalize(json), runId);

        [Fact]
        public void ExpandsPlaceholdersIntoAnArgumentList()
        {
            var template = EntrypointTemplate.Parse("python \"my train.py\" --run {run_id} --out=runs/{run_id} {overrides} --cfg {config_json}");

            var args = template.Expand(Input("{\"lr\": 0.1, \"model\": {\"dim\": 8}}"));

            Assert.Equal(new[]
            {
                "python", "my train.py", "--run", "ab12cd34", "--out=runs/ab12cd34", "lr=0.1", "model.dim=8",
                "--cfg", "{\"lr\":0.1,\"model\":{\"dim\":8}}",
            }, args);
        }

        [Fact]
        public void WordsKnowWhetherTheyAreTheTemplatesOwnUnquotedText()
        {
            var words = EntrypointTemplate.Parse("python train.py '*.txt' --id={run_id} {overrides} | tee log").ExpandWords(Input("{\"a\": 1, \"b\": 2}"));

            Assert.Equal(new[] { true, true, false, false, false, true, true, true }, words.Select(w => w.IsLiteral));
            Assert.Equal(new[] { "a=1", "b=2" }, words[4].Values);
            Assert.Equal("--id=ab12cd34", Assert.Single(words[3].Values));
        }

        [Fact]
        public void LiteralBracesAndJsonStayAsWritten()
        {
            var args = EntrypointTemplate.Parse("echo {{run_id}} '{\"a\": 1}'").Expand(Input("{}"));

            Assert.Equal(new[] { "echo", "{run_id}", "{\"a\": 1}" }, args);
        }

        [Theory]
        [InlineData("", "empty")]
        [InlineData("python train.py {seed}", "unknown placeholder {seed}")]
        [InlineData("python train.py --o={overrides}", "argument of its own")]
        [InlineData("python 'train.py", "unclosed")]
        public void BadTemplatesAreRefusedWithTheReason(string template, string expected)
        {
            var ex = Assert.Throws<ArgumentException>(() => EntrypointTemplate.Parse(template));
            Assert.Contains(expected, ex.Message);
        }

        [UnixFact] // Ray's shell is /bin/sh on POSIX only
        public void PosixQuotingDeliversEveryArgumentIntactThroughARealShell()
        {
            var nasty = "$(touch /tmp/rayrunner-pwned) `id` ; | & it's \"q\" \\ *\nline2";
            var args = EntrypointTemplate.Parse("printf %s\\0 {overrides}").Expand(Input("{\"x\": " + System.Text.Json.JsonSerializer.Serialize(nasty) + "}"));

            var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(EntrypointTemplate.ToPosixShell(args));
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();

            Assert.Equal(0, p.ExitCode);
            Assert.Equal("x=" + HydraOverrides.FormatValue(nasty), output.TrimEnd('\0'));
            Assert.False(System.IO.File.Exists("/tmp/rayrunner-pwned"));
        }
    }

    public class WireFormatTests
    {
        [Fact]
        public void TaskInputRoundTripsInSnakeCase()
        {
            var input = new TaskInput(ExperimentConfig.Normalize("{\"lr\": 0.1, \"model\": {\"layers\": [1, 2]}}"), "ab12cd34")
            {
                TimeoutSeconds = 60,
                AdditionalTags = new[] { "sweep-a" },
            };

            var json = RayRunnerJson.Serialize(input);
            var back = RayRunnerJson.Deserialize<TaskInput>(json)!;

            Assert.Contains("\"run_id\":\"ab12cd34\"", json);
            Assert.Contains("\"gpu_tier\":\"local\"", json);
            Assert.Contains("\"timeout_seconds\":60", json);
            Assert.Contains("\"additional_tags\":[\"sweep-a\"]", json);
            Assert.Equal("ab12cd34", back.RunId);
            Assert.Equal(0.1, back.Config["lr"]);
            Assert.Equal(new[] { "sweep-a" }, back.AdditionalTags);
        }

        [Fact]
        public void TaskOutputRoundTripsInSnakeCaseAndKeepsMetricNames()
        {
            var output = new TaskOutput
            {
                RunId = "r1",
                Status = RunStatus.Failed,
                Metrics = new Dictionary<string, double> { ["best_val_loss"] = 0.5, ["valAcc"] = 0.9 },
                CheckpointUri = "s3://b/k",
                ErrorMessage = "boom",
                StartedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
                DurationSeconds = 1.5,
            };

            var json = RayRunnerJson.Serialize(output);
            var back = RayRunnerJson.Deserialize<TaskOutput>(json)!;

            Assert.Contains("\"checkpoint_uri\":\"s3://b/k\"", json);
            Assert.Contains("\"valAcc\":0.9", json);
            Assert.Contains("\"duration_seconds\":1.5", json);
            Assert.Equal(RunStatus.Failed, back.Status);
            Assert.Equal(0.9, back.Metrics["valAcc"]);
            Assert.Equal(output.StartedAt, back.StartedAt);
        }

        [Theory]
        [InlineData("SUCCEEDED", "completed")]
        [InlineData("Canceled", "cancelled")]
        [InlineData("timed_out", "timeout")]
        [InlineData("weird", null)]
        public void StatusSpellingsAreNormalized(string reported, string? expected)
        {
            Assert.Equal(expected, RunStatus.Normalize(reported));
        }
    }
}
