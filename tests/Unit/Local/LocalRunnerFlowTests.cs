using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using Xunit;

namespace RayRunner.Tests.Unit.Local
{
    /// <summary>tmgg's RayRunner flow (sweep, spawn, status, cancel, timeout) with real child processes.</summary>
    public class LocalRunnerFlowTests : IDisposable
    {
        readonly LocalTestBed _bed = new LocalTestBed();

        public void Dispose() => _bed.Dispose();

        static string TrainPy => Path.Combine(LocalTestBed.RepoRoot(), "samples", "train.py");

        [UnixFact]
        public async Task A_sweep_of_the_sample_experiment_returns_results_in_config_order()
        {
            var backend = _bed.Backend(maxConcurrent: 2, numCpus: 2);
            using var runner = await Core.ExperimentRunner.CreateAsync(backend, new RayRunnerOptions { MaxConcurrent = 2, Entrypoint = $"python3 {TrainPy} {{overrides}}" });
            Assert.True(backend.IsInitialized);

            var configs = new object[]
            {
                new Dictionary<string, object?> { ["lr"] = 0.001, ["epochs"] = 2, ["seed"] = 1, ["epoch_seconds"] = 0.0 },
                new Dictionary<string, object?> { ["lr"] = 0.1, ["epochs"] = 2, ["seed"] = 1, ["epoch_seconds"] = 0.0, ["run_id"] = "ignored" },
                new Dictionary<string, object?> { ["lr"] = 0.01, ["epochs"] = 2, ["seed"] = 2, ["epoch_seconds"] = 0.0 },
            };
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var results = await runner.RunSweepAsync(configs, new RunRequest { TimeoutSeconds = 120 }, cts.Token);

            Assert.Equal(3, results.Count);
            Assert.Equal(new[] { 0.001, 0.1, 0.01 }, results.Select(r => (double)r.Config["lr"]!));
            Assert.All(results, r =>
            {
                Assert.True(r.Status == RunStatus.Completed, r.ErrorMessage);
                Assert.Matches(new Regex("^[0-9a-f]{8}$"), r.RunId);
                Assert.True(r.Metrics["loss"] >= 0);
                Assert.True(r.DurationSeconds > 0);
            });
            Assert.Equal(3, results.Select(r => r.RunId).Distinct().Count());
            Assert.NotEqual("ignored", results[1].RunId);
            // Higher learning rates get closer to the true weight in two epochs.
            Assert.True(results[1].Metrics["loss"] < results[2].Metrics["loss"]);
            Assert.True(results[2].Metrics["loss"] < results[0].Metrics["loss"]);
        }

        [UnixFact]
        public async Task Runs_beyond_the_cpu_slots_wait_in_the_runner_and_stay_resumable()
        {
            // MaxConcurrent 4 on a backend with 2 CPUs: a run handed over now would wait inside the
            // backend, and die with the session that holds it. The runner keeps it queued instead.
            var backend = _bed.Backend(maxConcurrent: 4, numCpus: 2);
            var runner = await Core.ExperimentRunner.CreateAsync(backend, new RayRunnerOptions { MaxConcurrent = 4, Entrypoint = "sh " + _bed.GateScript() });
            var request = new RunRequest { Environment = _bed.GateEnvironment() };
            var runs = new List<RaySpawnedTask>();
            for (var i = 0; i < 3; i++) runs.Add(await runner.SpawnExperimentAsync(new Dictionary<string, object?> { ["x"] = i }, request));
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 2, "two runs have started");

            Assert.Equal(2, runner.DispatchLimit);
            Assert.Equal(RunStatus.Queued, await runner.GetStatusAsync(runs[2].RunId));

            runner.Dispose(); // the session ends
            backend.Dispose();
            Assert.Equal(RunStatus.Queued, runner.Store.TryLoad(runs[2].RunId)!.Status);
            Assert.Equal(2, _bed.Started().Count);
            foreach (var run in runs.Take(2)) _bed.Open(run.RunId);
        }

        [UnixFact]
        public async Task Spawned_runs_report_their_status_and_cancel_untracks_them()
        {
            var backend = _bed.Backend(maxConcurrent: 4);
            using var runner = await Core.ExperimentRunner.CreateAsync(backend, new RayRunnerOptions { MaxConcurrent = 1, Entrypoint = "sh " + _bed.GateScript() });
            var request = new RunRequest { Environment = _bed.GateEnvironment() };
            var first = await runner.SpawnExperimentAsync(new Dictionary<string, object?> { ["x"] = 1 }, request);
            var second = await runner.SpawnExperimentAsync(new Dictionary<string, object?> { ["x"] = 2 }, request);
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 1, "the first run has started");

            Assert.Equal(RunStatus.Running, await runner.GetStatusAsync(first.RunId));
            Assert.Equal(RunStatus.Queued, await runner.GetStatusAsync(second.RunId)); // held by the runner, not the backend
            Assert.Contains("start " + first.RunId, File.ReadAllText(_bed.Events));

            Assert.True(await runner.CancelAsync(first.RunId));
            // Untracked, as in tmgg; the run store still remembers how it ended.
            Assert.False(runner.IsTracked(first.RunId));
            Assert.Equal(RunStatus.Cancelled, await runner.GetStatusAsync(first.RunId));
            Assert.False(await runner.CancelAsync(first.RunId));

            // The freed slot goes to the queued run.
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 2, "the queued run has started");
            _bed.Open(second.RunId);
            var result = await runner.GetResultAsync(second.RunId);
            Assert.Equal(RunStatus.Completed, result.Status);
            Assert.Equal(1.0, result.Metrics["gate"]);
            Assert.StartsWith("RAYRUNNER_RESULT", await runner.GetLogAsync(second.RunId, tailLines: 1));
        }

        [LinuxFact]
        public async Task A_run_past_its_timeout_is_stopped_with_its_grandchildren_and_reported_as_timeout()
        {
            var pidFile = _bed.PathOf("grandchild.pid");
            var script = _bed.Script("slow.py",
                "import os, subprocess, sys, time\n" +
                "child = subprocess.Popen(['sleep', '300'])\n" +
                "open(os.environ['GRANDCHILD'], 'w').write(str(child.pid))\n" +
                "print('working', flush=True)\n" +
                "child.wait()\n");
            var backend = _bed.Backend();
            using var runner = await Core.ExperimentRunner.CreateAsync(backend, new RayRunnerOptions { Entrypoint = "python3 " + script });

            var result = await runner.RunExperimentAsync(new Dictionary<string, object?>(),
                new RunRequest { TimeoutSeconds = 2, Environment = new Dictionary<string, string> { ["GRANDCHILD"] = pidFile } });

            Assert.Equal(RunStatus.Timeout, result.Status);
            Assert.Contains("timeout of 2 s", result.ErrorMessage);
            Assert.True(File.Exists(pidFile), "the run got as far as starting its grandchild");
            var grandchild = LocalTestBed.ReadPid(pidFile);
            await LocalTestBed.WaitUntil(() => !LocalTestBed.IsAlive(grandchild), "the grandchild is gone");
            Assert.Equal(0, backend.RunningCount);
        }

        [UnixFact]
        public async Task A_runtime_envs_env_vars_reach_the_local_run_as_on_Ray_and_the_runs_own_variables_win()
        {
            var script = _bed.Script("env.sh",
                "echo \"FROM_ENV=$FROM_ENV BOTH=$BOTH ID=$RAYRUNNER_RUN_ID\"\n");
            var backend = _bed.Backend();
            using var runner = await Core.ExperimentRunner.CreateAsync(backend, new RayRunnerOptions { Entrypoint = "sh " + script });
            var request = new RunRequest
            {
                Environment = new Dictionary<string, string> { ["BOTH"] = "call" },
                Resources = new RunResources
                {
                    // pip cannot apply on this machine and changes nothing; RAYRUNNER_RUN_ID stays RayRunner's.
                    RuntimeEnvJson = RunResources.CheckRuntimeEnv("{\"pip\":[\"x\"],\"env_vars\":{\"FROM_ENV\":\"env\",\"BOTH\":\"env\",\"RAYRUNNER_RUN_ID\":\"spoofed\"}}"),
                },
            };
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var result = await runner.RunExperimentAsync(new Dictionary<string, object?>(), request, cts.Token);

            Assert.True(result.Status == RunStatus.Completed, result.ErrorMessage);
            Assert.Contains($"FROM_ENV=env BOTH=call ID={result.RunId}", await runner.GetLogAsync(result.RunId));
        }

        [UnixFact]
        public async Task A_typo_in_the_entrypoint_is_a_failed_result_not_an_exception()
        {
            var backend = _bed.Backend();
            using var runner = await Core.ExperimentRunner.CreateAsync(backend, new RayRunnerOptions { Entrypoint = "pyhton3 train.py {overrides}" });
            var result = await runner.RunExperimentAsync(new Dictionary<string, object?> { ["lr"] = 0.1 });
            Assert.Equal(RunStatus.Failed, result.Status);
            Assert.Contains("'pyhton3' was not found", result.ErrorMessage);
        }
    }
}
