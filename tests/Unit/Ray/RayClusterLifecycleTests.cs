using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Ray;
using RayRunner.Tests.Unit.Ray.StandIn;
using Xunit;
using Runner = RayRunner.Core.ExperimentRunner;

namespace RayRunner.Tests.Unit.Ray
{
    /// <summary>
    /// Tests that put the stand-in <c>ray</c> first on the process's PATH. PATH is process-wide, so
    /// this collection never runs in parallel with any other test.
    /// </summary>
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class RayCliOnPathCollection
    {
        public const string Name = "Ray CLI on PATH (process environment)";
    }

    [Collection(RayCliOnPathCollection.Name)]
    public sealed class RayClusterLifecycleTests : IAsyncLifetime
    {
        RayCliStandInHost _host = null!;
        readonly Dictionary<string, string?> _saved = new();

        public async Task InitializeAsync()
        {
            _host = await RayCliStandInHost.StartAsync();
            Set("PATH", RayCliStandInHost.FixtureDirectory + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"));
            Set("RAY_STANDIN_CONTROL", "127.0.0.1:" + _host.ControlPort);
            Set("RAY_STANDIN_ARGV_LOG", _host.ArgvLog);
        }

        public async Task DisposeAsync()
        {
            foreach (var kv in _saved) Environment.SetEnvironmentVariable(kv.Key, kv.Value);
            await _host.DisposeAsync();
        }

        void Set(string name, string value)
        {
            if (!_saved.ContainsKey(name)) _saved[name] = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, value);
        }

        static int FreePort()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return port;
        }

        /// <summary>PATH from the process (where the stand-in ray is); nothing else leaks in.</summary>
        static Func<string, string?> ProcessPathOnly() =>
            RayTestSupport.Env(new Dictionary<string, string> { ["PATH"] = Environment.GetEnvironmentVariable("PATH")! });

        static RayBackendOptions Options(int port, bool noAutoStart = false, TimeSpan? startup = null, int? cpus = null)
        {
            var fast = RayTestSupport.Fast("unused");
            return new RayBackendOptions
            {
                Address = null,
                DashboardPort = port,
                NumCpus = cpus,
                NoAutoStart = noAutoStart,
                Environment = ProcessPathOnly(),
                ProbeTimeout = TimeSpan.FromMilliseconds(500),
                RequestTimeout = fast.RequestTimeout,
                SubmitTimeout = fast.SubmitTimeout,
                PollIntervalMin = fast.PollIntervalMin,
                PollIntervalMax = fast.PollIntervalMax,
                RetryDelay = fast.RetryDelay,
                StartupTimeout = startup ?? TimeSpan.FromSeconds(20),
                ShutdownTimeout = TimeSpan.FromSeconds(20),
            };
        }

        [Fact]
        public async Task Init_starts_a_local_head_with_the_contract_flags_and_shutdown_stops_only_what_it_started()
        {
            var port = FreePort();
            using var backend = new RayJobsBackend(Options(port, cpus: 4));
            Assert.Equal($"http://127.0.0.1:{port}", backend.Address);
            Assert.True(backend.IsAvailable); // nothing answers yet, but ray is on PATH

            using var runner = await Runner.CreateAsync(backend, new RayRunnerOptions { MaxConcurrent = 3, Entrypoint = RayTestSupport.Entrypoint });
            Assert.True(backend.StartedCluster);
            Assert.True(backend.UsesExperimentSlots);
            var start = Assert.Single(_host.Invocations());
            Assert.Equal(new[]
            {
                "start", "--head", "--num-cpus", "4", "--resources", "{\"experiment_slot\": 3}",
                "--dashboard-port", port.ToString(), "--disable-usage-stats",
            }, start);

            var dashboard = _host.Dashboard!;
            Assert.Equal(3, dashboard.Settings.ExperimentSlots);
            var result = await runner.RunExperimentAsync(new Dictionary<string, object?> { ["value"] = 4L }, null, new CancellationTokenSource(RayTestSupport.Generous).Token);
            Assert.Equal(RunStatus.Completed, result.Status);
            Assert.Equal(4, result.Metrics["value"]);
            Assert.Contains("\"experiment_slot\":1", dashboard.Job(result.RunId)!.RequestBody);

            // A run still going when RayRunner stops its own cluster ends with a clear reason.
            var slow = await runner.SpawnExperimentAsync(new Dictionary<string, object?> { ["sleep"] = 60L });
            await RayJobsBackendTests.WaitForStatus(dashboard, slow.RunId, "RUNNING");
            await runner.ShutdownAsync();
            var lost = await runner.GetResultAsync(slow.RunId, new CancellationTokenSource(RayTestSupport.Generous).Token);
            Assert.Equal(RunStatus.Failed, lost.Status);
            Assert.Contains("was stopped (ray stop)", lost.ErrorMessage);
            Assert.Equal(new[] { "stop" }, _host.Invocations().Last());
            Assert.Null(_host.Dashboard);
            Assert.False(backend.StartedCluster);
            Assert.Contains("Stopped the local Ray cluster", backend.ShutdownMessage);
        }

        [Fact]
        public async Task A_cluster_that_already_answers_is_used_and_never_stopped()
        {
            await using var existing = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 2 });
            using var backend = new RayJobsBackend(Options(existing.Port));
            using var runner = await Runner.CreateAsync(backend, new RayRunnerOptions { MaxConcurrent = 2, Entrypoint = RayTestSupport.Entrypoint });
            Assert.False(backend.StartedCluster);
            var result = await runner.RunExperimentAsync(new Dictionary<string, object?> { ["value"] = 1L }, null, new CancellationTokenSource(RayTestSupport.Generous).Token);
            Assert.Equal(RunStatus.Completed, result.Status);

            // Runs on a cluster RayRunner did not start outlive its shutdown and can still be collected.
            var running = await runner.SpawnExperimentAsync(new Dictionary<string, object?> { ["sleep"] = 1L, ["value"] = 9L });
            await runner.ShutdownAsync();
            Assert.Empty(_host.Invocations()); // neither start nor stop
            var later = await runner.GetResultAsync(running.RunId, new CancellationTokenSource(RayTestSupport.Generous).Token);
            Assert.Equal(RunStatus.Completed, later.Status);
            Assert.Equal(9, later.Metrics["value"]);
            Assert.Contains("did not start it", backend.ShutdownMessage);
        }

        [Fact]
        public async Task A_failing_ray_start_is_a_clear_error_with_the_cli_output()
        {
            _host.StartBehavior = CliStartBehavior.Fail;
            using var backend = new RayJobsBackend(Options(FreePort()));
            var ex = await Assert.ThrowsAsync<RayClusterException>(() => backend.InitAsync(new ClusterOptions(), default));
            Assert.Contains("ray start --head", ex.Message);
            Assert.Contains("exit code 1", ex.Message);
            Assert.Contains("Address already in use", ex.Message);
            Assert.False(backend.StartedCluster);
            Assert.False(backend.IsInitialized);
        }

        [Fact]
        public async Task A_dashboard_that_never_comes_up_times_out_with_the_cli_output()
        {
            _host.StartBehavior = CliStartBehavior.NoDashboard;
            using var backend = new RayJobsBackend(Options(FreePort(), startup: TimeSpan.FromSeconds(2)));
            var ex = await Assert.ThrowsAsync<RayClusterException>(() => backend.InitAsync(new ClusterOptions(), default));
            Assert.Contains("within 2 s", ex.Message);
            Assert.Contains("ray stop", ex.Message);
            Assert.Contains("its dashboard will never answer", ex.Message);
            Assert.False(backend.IsInitialized);
        }

        [Fact]
        public async Task NoAutoStart_never_runs_ray_and_says_why()
        {
            using var backend = new RayJobsBackend(Options(FreePort(), noAutoStart: true));
            Assert.True(backend.IsAvailable); // Ray is installed; it just may not be started
            var ex = await Assert.ThrowsAsync<RayClusterException>(() => backend.InitAsync(new ClusterOptions(), default));
            Assert.Contains("NoAutoStart", ex.Message);
            Assert.Empty(_host.Invocations());
        }

        [Fact]
        public async Task Without_ray_and_without_a_dashboard_the_runner_says_ray_is_not_installed()
        {
            var emptyDir = RayTestSupport.NewTempDir();
            var port = FreePort();
            var options = Options(port);
            using var backend = new RayJobsBackend(new RayBackendOptions
            {
                DashboardPort = port,
                Environment = RayTestSupport.Env(new Dictionary<string, string> { ["PATH"] = emptyDir }),
                ProbeTimeout = options.ProbeTimeout,
            });
            Assert.False(backend.IsAvailable);
            Assert.Contains($"http://127.0.0.1:{port}", backend.UnavailableReason);
            Assert.Contains("no 'ray' command", backend.UnavailableReason);
            var ex = Assert.Throws<RayNotInstalledException>(() => new Runner(backend, new RayRunnerOptions { Entrypoint = "true" }));
            Assert.StartsWith(RayNotInstalledException.MessagePrefix, ex.Message);
            Assert.Contains("PATH", ex.Message);

            // The static helpers BackendFactory uses.
            Assert.Equal(Path.Combine(RayCliStandInHost.FixtureDirectory, "ray"), RayJobsBackend.FindRayOnPath());
            Assert.False(await RayJobsBackend.ProbeAsync(options, default));
            await using var standIn = await RayDashboardStandIn.StartAsync(port: 0);
            Assert.True(await RayJobsBackend.ProbeAsync(Options(standIn.Port), default));
        }
    }
}
