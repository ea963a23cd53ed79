using System;
using System.Collections.Generic;
using System.Linq;
using RayRunner.Core;
using RayRunner.Tests.Unit.Fakes;
using Xunit;
using CoreRunner = RayRunner.Core.ExperimentRunner;

// The 17 tests of tmgg's tests/experiment_utils/cloud/test_ray_runner.py, one for one, with tmgg's
// names in PascalCase inside classes named after tmgg's. Unlike tmgg, each test gets a fresh fake
// (tmgg shares one module-level mock, so state leaks between its tests), and where tmgg is loose
// (it never checks the init arguments or the cancel call) these assert those too.
namespace RayRunner.Tests.Unit.Orchestration
{
    static class Samples
    {
        public const string Entrypoint = "python train.py {overrides}";

        public static RayRunnerOptions Options(int maxConcurrent = 4) =>
            new RayRunnerOptions { MaxConcurrent = maxConcurrent, Entrypoint = Entrypoint };

        /// <summary>tmgg's sample_config fixture (TestRayRunnerSpawn).</summary>
        public static Dictionary<string, object?> SpawnConfig() => new()
        {
            ["run_id"] = "spawn_test",
            ["model"] = new Dictionary<string, object?> { ["hidden_dim"] = 64 },
            ["data"] = new Dictionary<string, object?> { ["batch_size"] = 32 },
            ["trainer"] = new Dictionary<string, object?> { ["max_epochs"] = 10 },
            ["paths"] = new Dictionary<string, object?> { ["output_dir"] = null, ["results_dir"] = null },
        };

        public static Dictionary<string, object?> SweepConfig(int i) => new()
        {
            ["run_id"] = $"sweep_{i}",
            ["model"] = new Dictionary<string, object?> { ["hidden_dim"] = 64 },
            ["paths"] = new Dictionary<string, object?> { ["output_dir"] = null, ["results_dir"] = null },
        };

        public static bool IsEightHex(string id) => id.Length == 8 && id.All(c => "0123456789abcdef".Contains(c));
    }

    public class RayRunnerInitTests
    {
        [Fact]
        public void InitAutoInitializesRay()
        {
            var ray = new FakeRayBackend { IsInitialized = false };

            var runner = new CoreRunner(ray, maxConcurrent: 2);

            Assert.Equal(2, runner.MaxConcurrent);
            Assert.Equal(0.0, runner.NumGpusPerTask);
            Assert.Equal(1, runner.NumCpusPerTask);
            // tmgg never checks the init call; the runner must ask for experiment_slot = max_concurrent.
            var init = Assert.Single(ray.InitCalls);
            Assert.Equal(2.0, init.Resources[CoreRunner.ExperimentSlotResource]);
            Assert.True(init.IgnoreReinitError);
            Assert.True(ray.IsInitialized);
        }

        [Fact]
        public void InitSkipsIfRayConnected()
        {
            var ray = new FakeRayBackend { IsInitialized = true };

            _ = new CoreRunner(ray, maxConcurrent: 4);

            Assert.Empty(ray.InitCalls);
        }

        [Fact]
        public void InitWithGpuConfig()
        {
            var ray = new FakeRayBackend { IsInitialized = true };

            var runner = new CoreRunner(ray, maxConcurrent: 2, numGpusPerTask: 1.0, numCpusPerTask: 4);

            Assert.Equal(1.0, runner.NumGpusPerTask);
            Assert.Equal(4, runner.NumCpusPerTask);
        }
    }

    public class RaySpawnedTaskTests
    {
        [Fact]
        public void SpawnedTaskCreation()
        {
            var reference = new TaskRef("fake", "test123");

            var task = new RaySpawnedTask("test123", reference);

            Assert.Equal("test123", task.RunId);
            Assert.Same(reference, task.ObjectRef);
        }
    }

    public class RayRunnerSpawnTests
    {
        readonly FakeRayBackend _ray = new() { IsInitialized = true, AutoComplete = null };
        readonly CoreRunner _runner;

        public RayRunnerSpawnTests() => _runner = new CoreRunner(_ray, Samples.Options());

        [Fact]
        public void SpawnExperimentReturnsSpawnedTask()
        {
            var spawned = _runner.SpawnExperiment(Samples.SpawnConfig());

            Assert.IsType<RaySpawnedTask>(spawned);
            // A fresh UUID[:8] id: the config's run_id "spawn_test" is ignored.
            Assert.True(Samples.IsEightHex(spawned.RunId), spawned.RunId);
            Assert.NotNull(spawned.ObjectRef);
            Assert.Equal(spawned.RunId, spawned.ObjectRef.RunId);
        }

        [Fact]
        public void SpawnExperimentTracksActiveRuns()
        {
            var spawned = _runner.SpawnExperiment(Samples.SpawnConfig());

            Assert.Contains(spawned.RunId, _runner.ActiveRunIds);
            Assert.Equal(spawned.RunId, _runner.GetRun(spawned.RunId)!.RunId);
            // And it reached the backend with tmgg's remote options.
            var (spec, options) = Assert.Single(_ray.Submissions);
            Assert.Equal(spawned.RunId, spec.RunId);
            Assert.Equal(1.0, options.NumCpus);
            Assert.Equal(1.0, options.Resources[CoreRunner.ExperimentSlotResource]);
            Assert.Null(options.NumGpus);
        }

        [Fact]
        public void SpawnSweepSpawnsAllConfigs()
        {
            var configs = Enumerable.Range(0, 3).Select(i => (object)Samples.SweepConfig(i)).ToList();

            var spawned = _runner.SpawnSweep(configs);

            Assert.Equal(3, spawned.Count);
            Assert.All(spawned, t => Assert.IsType<RaySpawnedTask>(t));
            var runIds = spawned.Select(t => t.RunId).ToList();
            Assert.Equal(3, runIds.Distinct().Count());
            Assert.All(runIds, id => Assert.True(Samples.IsEightHex(id), id));
            Assert.Equal(runIds, _ray.SubmittedRunIds);
        }
    }

    public class RayRunnerBlockingTests
    {
        readonly FakeRayBackend _ray = new() { IsInitialized = true };
        readonly CoreRunner _runner;

        public RayRunnerBlockingTests() => _runner = new CoreRunner(_ray, Samples.Options());

        static Dictionary<string, object?> SampleConfig() => new()
        {
            ["run_id"] = "blocking_test",
            ["model"] = new Dictionary<string, object?> { ["hidden_dim"] = 64 },
            ["paths"] = new Dictionary<string, object?> { ["output_dir"] = null, ["results_dir"] = null },
        };

        [Fact]
        public void RunExperimentReturnsResult()
        {
            var result = _runner.RunExperiment(SampleConfig());

            Assert.IsType<ExperimentResult>(result);
            // The runner's own id, not "test123" that the worker reported, nor the config's run_id.
            Assert.True(Samples.IsEightHex(result.RunId), result.RunId);
            Assert.Equal(_ray.SubmittedRunIds.Single(), result.RunId);
            Assert.Equal(RunStatus.Completed, result.Status);
            Assert.Equal(0.1, result.Metrics["best_val_loss"]);
            Assert.Equal(3600.0, result.DurationSeconds);
        }

        [Fact]
        public void RunExperimentCleansUpTracking()
        {
            var result = _runner.RunExperiment(SampleConfig());

            Assert.DoesNotContain(result.RunId, _runner.ActiveRunIds);
            Assert.False(_runner.IsTracked(result.RunId));
        }

        [Fact]
        public void RunSweepReturnsAllResults()
        {
            // tmgg's mock returns loss 0.1 * i for the i-th config; results must come back in config order.
            var index = 0;
            _ray.AutoComplete = spec => new TaskOutput
            {
                RunId = $"sweep_{index}",
                Status = RunStatus.Completed,
                Metrics = new Dictionary<string, double> { ["best_val_loss"] = 0.1 * index++ },
                DurationSeconds = 3600.0,
            };
            var configs = Enumerable.Range(0, 3).Select(i => (object)Samples.SweepConfig(i)).ToList();

            var results = _runner.RunSweep(configs);

            Assert.Equal(3, results.Count);
            Assert.All(results, r => Assert.IsType<ExperimentResult>(r));
            Assert.Equal(_ray.SubmittedRunIds, results.Select(r => r.RunId));
            Assert.Equal(new[] { 0.0, 0.1, 0.2 }, results.Select(r => Math.Round(r.Metrics["best_val_loss"], 6)));
            Assert.Equal(new object?[] { "sweep_0", "sweep_1", "sweep_2" }, results.Select(r => r.Config["run_id"]));
            Assert.Empty(_runner.ActiveRunIds);
        }
    }

    public class RayRunnerStatusTests
    {
        readonly FakeRayBackend _ray = new() { IsInitialized = true, AutoComplete = null };
        readonly CoreRunner _runner;

        public RayRunnerStatusTests() => _runner = new CoreRunner(_ray, Samples.Options());

        [Fact]
        public void GetStatusUnknownForMissingRun()
        {
            Assert.Equal(RunStatus.Unknown, _runner.GetStatus("nonexistent"));
        }

        [Fact]
        public void GetStatusRunningIfNotReady()
        {
            var spawned = _runner.SpawnExperiment(Samples.SpawnConfig());

            Assert.Equal(RunStatus.Running, _runner.GetStatus(spawned.RunId));
        }

        [Fact]
        public void GetStatusCompletedIfReady()
        {
            var spawned = _runner.SpawnExperiment(Samples.SpawnConfig());
            _ray.Complete(spawned.RunId, new TaskOutput { Status = RunStatus.Completed });

            // The monitor records the outcome asynchronously; until it has, get_status asks the backend.
            Assert.Equal(RunStatus.Completed, _runner.GetStatus(spawned.RunId));
        }

        [Fact]
        public void CancelReturnsFalseForMissingRun()
        {
            Assert.False(_runner.Cancel("nonexistent"));
            Assert.Empty(_ray.CancelCalls);
        }

        [Fact]
        public void CancelRemovesFromTracking()
        {
            var spawned = _runner.SpawnExperiment(Samples.SpawnConfig());

            var result = _runner.Cancel(spawned.RunId);

            Assert.True(result);
            Assert.DoesNotContain(spawned.RunId, _runner.ActiveRunIds);
            // tmgg never checks that ray.cancel was called with the run's reference.
            Assert.Equal(spawned.RunId, Assert.Single(_ray.CancelCalls).RunId);
        }

        [Fact]
        public void ShutdownCallsRayShutdown()
        {
            _runner.Shutdown();

            Assert.Equal(1, _ray.ShutdownCalls);
        }
    }

    public class RayNotInstalledTests
    {
        [Fact]
        public void EnsureRayAvailableRaisesIfNotInstalled()
        {
            var ray = new FakeRayBackend { IsAvailable = false };

            var ex = Assert.Throws<RayNotInstalledException>(() => CoreRunner.EnsureRayAvailable(ray));

            Assert.StartsWith("Ray is not installed", ex.Message);
            // The helpful part: how to install, how to use a running cluster, and the no-Ray option.
            Assert.Contains("pip install", ex.Message);
            Assert.Contains("RAY_ADDRESS", ex.Message);
            Assert.Contains("-Backend Local", ex.Message);
            Assert.Contains(ray.UnavailableReason!, ex.Message);
        }
    }
}
