using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using RayRunner.Core.Sweeps;
using Xunit;

namespace RayRunner.Tests.Unit.Sweeps
{
    public sealed class SweepFileTests : IDisposable
    {
        readonly string _dir = Path.Combine(Path.GetTempPath(), "rr-sweepfile-" + Guid.NewGuid().ToString("N"));

        public SweepFileTests() => Directory.CreateDirectory(_dir);
        public void Dispose() => Directory.Delete(_dir, recursive: true);

        string Write(string name, string text)
        {
            var path = Path.Combine(_dir, name);
            File.WriteAllText(path, text);
            return path;
        }

        /// <summary>A tmgg-style stage: base config, architectures, datasets, hyperparameters, seeds and a run-name template.</summary>
        const string Stage = @"
name: stage1_poc
description: Validate that spectral PE architectures can denoise graphs
entrypoint: python train.py {overrides}
working_directory: ../samples
base:
  learning_rate: 1e-2
  weight_decay: 1e-12
  scheduler_config:
    type: none
  trainer:
    max_epochs: 50
    accelerator: cpu
architectures: [models/spectral/linear_pe, models/spectral/filter_bank]
datasets: [sbm_single_graph, er_single_graph]
hyperparameters:
  learning_rate: [1e-3, 1e-2]
  trainer.max_epochs: [8, 16]
seeds: [1, 2, 3]
run_name: '{name}_{model}_{data}_lr{learning_rate}_e{trainer.max_epochs}_s{seed}'
";

        [Fact]
        public void A_tmgg_stage_file_expands_to_its_grid_in_the_documented_order()
        {
            var sweep = SweepFile.Read(Write("stage.yaml", Stage));
            Assert.Equal("python train.py {overrides}", sweep.Entrypoint);
            Assert.Equal(Path.GetFullPath(Path.Combine(_dir, "..", "samples")), sweep.WorkingDirectory);
            var configs = SweepExpander.Expand(sweep);
            Assert.Equal(3 * 2 * 2 * 2 * 2, configs.Count);
            // seeds outermost, then architectures, datasets, hyperparameters in file order (last fastest).
            Assert.Equal("stage1_poc_models/spectral/linear_pe_sbm_single_graph_lr0.001_e8_s1", configs[0].Label);
            Assert.Equal("stage1_poc_models/spectral/linear_pe_sbm_single_graph_lr0.001_e16_s1", configs[1].Label);
            Assert.Equal("stage1_poc_models/spectral/linear_pe_sbm_single_graph_lr0.01_e8_s1", configs[2].Label);
            Assert.Equal("stage1_poc_models/spectral/linear_pe_er_single_graph_lr0.001_e8_s1", configs[4].Label);
            Assert.Equal("stage1_poc_models/spectral/filter_bank_sbm_single_graph_lr0.001_e8_s1", configs[8].Label);
            Assert.Equal(2L, configs[16].Config["seed"]);
            var last = configs.Last().Config;
            Assert.Equal(3L, last["seed"]);
            Assert.Equal("models/spectral/filter_bank", last["model"]);
            var trainer = Assert.IsType<Dictionary<string, object?>>(last["trainer"]);
            Assert.Equal(16L, trainer["max_epochs"]);
            Assert.Equal("cpu", trainer["accelerator"]);
            Assert.Equal(1e-12, last["weight_decay"]);
            Assert.Equal(configs.Count, configs.Select(c => c.ConfigHash).Distinct().Count());
        }

        [Fact]
        public void Yaml_scalars_are_typed_like_hydra_reads_them()
        {
            var sweep = SweepFile.Read(Write("t.yaml", @"
base: { a: 1e-2, b: '1e-2', c: 3, d: true, e: null, f: yes, g: 0x10, h: -2.5 }
hyperparameters: { x: [1, 2] }
"));
            Assert.Equal(0.01, sweep.Base["a"]);
            Assert.Equal("1e-2", sweep.Base["b"]);
            Assert.Equal(3L, sweep.Base["c"]);
            Assert.Equal(true, sweep.Base["d"]);
            Assert.Null(sweep.Base["e"]);
            Assert.Equal("yes", sweep.Base["f"]);
            Assert.Equal(16L, sweep.Base["g"]);
            Assert.Equal(-2.5, sweep.Base["h"]);
        }

        [Fact]
        public void Json_sweep_files_read_the_same_as_yaml()
        {
            var yaml = SweepExpander.Expand(SweepFile.Read(Write("s.yaml", Stage)));
            var json = SweepExpander.Expand(SweepFile.Read(Write("s.json", @"{
  ""name"": ""stage1_poc"", ""working_directory"": ""../samples"", ""entrypoint"": ""python train.py {overrides}"",
  ""base"": { ""learning_rate"": 0.01, ""weight_decay"": 1e-12, ""scheduler_config"": { ""type"": ""none"" }, ""trainer"": { ""max_epochs"": 50, ""accelerator"": ""cpu"" } },
  ""architectures"": [""models/spectral/linear_pe"", ""models/spectral/filter_bank""],
  ""datasets"": [""sbm_single_graph"", ""er_single_graph""],
  ""hyperparameters"": { ""learning_rate"": [0.001, 0.01], ""trainer.max_epochs"": [8, 16] },
  ""seeds"": [1, 2, 3],
  ""run_name"": ""{name}_{model}_{data}_lr{learning_rate}_e{trainer.max_epochs}_s{seed}"" }")));
            Assert.Equal(yaml.Select(c => c.Label), json.Select(c => c.Label));
            Assert.Equal(yaml.Select(c => c.ConfigHash), json.Select(c => c.ConfigHash));
        }

        [Fact]
        public void Random_and_zip_sections_are_read()
        {
            var sweep = SweepFile.Read(Write("r.yaml", @"
seeds: [1, 2]
zip: { noise: [0.1, 0.2], eval_noise: [0.1, 0.2] }
hyperparameters:
  lr: { low: 1e-4, high: 1e-1, distribution: loguniform }
random: { samples: 5, seed: 3 }
"));
            var configs = SweepExpander.Expand(sweep);
            Assert.Equal(10, configs.Count);
            Assert.All(configs, c => Assert.Equal(c.Config["noise"], c.Config["eval_noise"]));
            // The same five samples for each seed: seeds are crossed, not drawn.
            Assert.Equal(configs.Take(5).Select(c => c.Config["lr"]), configs.Skip(5).Select(c => c.Config["lr"]));
        }

        [Fact]
        public void Unknown_keys_are_refused_with_a_suggestion()
        {
            var ex = Assert.Throws<SweepDefinitionException>(() => SweepFile.Read(Write("u.yaml", "seeds: [1]\nhyperparamters: { lr: [1] }\n")));
            Assert.Equal(SweepProblem.UnknownKey, ex.Problem);
            Assert.Equal("hyperparamters", ex.Key);
            Assert.Contains("Did you mean 'hyperparameters'?", ex.Message);
        }

        [Theory]
        [InlineData("seeds: []\n", SweepProblem.Empty)]
        [InlineData("hyperparameters: { lr: [] }\n", SweepProblem.Empty)]
        [InlineData("seeds: [1]\nrandom: { samples: 2, sed: 1 }\n", SweepProblem.UnknownKey)]
        [InlineData("seeds: [1\n", SweepProblem.Invalid)]
        [InlineData("- 1\n- 2\n", SweepProblem.Invalid)]
        [InlineData("base: { model: gnn }\nhyperparameters: { model.k: [1, 2] }\n", SweepProblem.ConflictingKeys)]
        [InlineData("architectures: [a, b]\nhyperparameters: { model.k: [1, 2] }\n", SweepProblem.ConflictingKeys)]
        public void Bad_files_are_refused_with_the_problem_named(string text, SweepProblem problem)
        {
            var ex = Assert.Throws<SweepDefinitionException>(() => SweepExpander.Expand(SweepFile.Read(Write("bad.yaml", text))));
            Assert.Equal(problem, ex.Problem);
        }

        [Fact]
        public void Max_retries_and_retry_on_are_read_for_the_cmdlets()
        {
            var sweep = SweepFile.Read(Write("r.yaml", "max_retries: 2\nretry_on: [failed, lost]\nseeds: [1]\n"));
            Assert.Equal(2, sweep.MaxRetries);
            Assert.Equal(new[] { "failed", "lost" }, sweep.RetryOn);
            var one = SweepFile.Read(Write("r1.yaml", "max_retries: 1\nretry_on: timeout\nseeds: [1]\n"));
            Assert.Equal(new[] { "timeout" }, one.RetryOn);
            var none = SweepFile.Read(Write("r0.yaml", "seeds: [1]\n"));
            Assert.Null(none.MaxRetries);
            Assert.Null(none.RetryOn);
        }

        [Theory]
        [InlineData("max_retries: -1\n", "max_retries", "from 0 to 100")]
        [InlineData("max_retries: 1.5\n", "max_retries", "whole number")]
        [InlineData("retry_on: [failed]\n", "max_retries", "retry_on needs it")]
        [InlineData("max_retries: 1\nretry_on: [oom]\n", "retry_on", "retry_on holds 'oom', which is not a reason to retry")]
        public void Bad_retries_are_refused_naming_the_key(string text, string key, string expected)
        {
            var ex = Assert.Throws<SweepDefinitionException>(() => SweepFile.Read(Write("bad-retry.yaml", text + "seeds: [1]\n")));
            Assert.Equal(SweepProblem.Invalid, ex.Problem);
            Assert.Equal(key, ex.Key);
            Assert.Contains(expected, ex.Message);
        }
    }
}
