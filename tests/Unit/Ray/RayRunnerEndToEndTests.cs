using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Ray;
using RayRunner.Tests.Unit.Ray.StandIn;
using Xunit;
using Runner = RayRunner.Core.ExperimentRunner;

namespace RayRunner.Tests.Unit.Ray
{
    /// <summary>The real runner over the Ray backend over the stand-in: what a user's sweep goes through.</summary>
    public class RayRunnerEndToEndTests
    {
        static readonly TimeSpan Generous = RayTestSupport.Generous;

        static async Task<(RayJobsBackend, Runner)> CreateAsync(RayDashboardStandIn standIn, int maxConcurrent, RayBackendOptions? options = null)
        {
            var backend = new RayJobsBackend(options ?? RayTestSupport.Fast(standIn.Address));
            var runner = await Runner.CreateAsync(backend, new RayRunnerOptions { MaxConcurrent = maxConcurrent, Entrypoint = RayTestSupport.Entrypoint });
            return (backend, runner);
        }

        [Fact]
        public async Task A_sweep_runs_end_to_end_with_results_logs_cancel_and_timeouts()
        {
            // Far more room than MaxConcurrent: the cluster would run all 8 at once, only the runner's cap holds them back.
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 64 });
            var (backend, runner) = await CreateAsync(standIn, maxConcurrent: 3);
            using var _ = backend;
            using var __ = runner;
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));

            // A sweep: results in config order, metrics from each run's own result line.
            var configs = Enumerable.Range(0, 8).Select(i => (object)new Dictionary<string, object?> { ["value"] = (long)i * 10, ["model"] = new Dictionary<string, object?> { ["layers"] = (long)i } }).ToList();
            var spawned = await runner.SpawnSweepAsync(configs, new RunRequest { SweepId = "sweep-e2e" }, cts.Token);
            var results = new List<ExperimentResult>();
            foreach (var s in spawned) results.Add(await runner.GetResultAsync(s.RunId, cts.Token));
            for (var i = 0; i < 8; i++)
            {
                Assert.Equal(RunStatus.Completed, results[i].Status);
                Assert.Equal(i * 10, results[i].Metrics["value"]);
                Assert.Equal(spawned[i].RunId, results[i].RunId);
                Assert.Equal("sweep-e2e", results[i].SweepId);
                Assert.Equal($"file:///ckpt/{spawned[i].RunId}", results[i].CheckpointPath);
            }
            // Measured at the cluster: jobs submitted and not over (PENDING included), never above the cap, and the cap reached.
            Assert.True(standIn.MaxActive <= 3, $"at most MaxConcurrent jobs are handed to Ray at once, saw {standIn.MaxActive}");
            Assert.Equal(3, standIn.MaxActive);
            Assert.Equal(8, standIn.JobsCreated.Count);
            Assert.Empty(standIn.DuplicateSubmits); // no run was posted again after Ray had it
            // The overrides reached the experiment as Hydra arguments through Ray's /bin/sh -c.
            Assert.Contains("model.layers=7", standIn.Job(spawned[7].RunId)!.Entrypoint);

            // Logs of a finished run, whole and tailed.
            var log = await runner.GetLogAsync(spawned[2].RunId, null, cts.Token);
            Assert.Contains($"run {spawned[2].RunId} starting", log);
            var tail = await runner.GetLogAsync(spawned[2].RunId, 2, cts.Token);
            Assert.Equal(2, tail.TrimEnd('\n').Split('\n').Length);

            // Cancel: the job is stopped at Ray and the run is cancelled.
            var slow = await runner.SpawnExperimentAsync(new Dictionary<string, object?> { ["sleep"] = 60L }, new RunRequest(), cts.Token);
            await RayJobsBackendTests.WaitForStatus(standIn, slow.RunId, "RUNNING");
            // Ray moves PENDING to RUNNING after submit answered; the runner sees it on its poller's next look.
            var status = await RayTestSupport.EventuallyAsync(() => runner.GetStatusAsync(slow.RunId, cts.Token), s => s == RunStatus.Running, TimeSpan.FromSeconds(5));
            Assert.Equal(RunStatus.Running, status);
            Assert.True(await runner.CancelAsync(slow.RunId, cts.Token));
            Assert.Equal("STOPPED", (await standIn.WaitForEndAsync(slow.RunId, Generous)).Status);

            // Timeout: the runner stops the job at Ray and reports timeout.
            var late = await runner.SpawnExperimentAsync(new Dictionary<string, object?> { ["sleep"] = 60L }, new RunRequest { TimeoutSeconds = 1 }, cts.Token);
            var timedOut = await runner.GetResultAsync(late.RunId, cts.Token);
            Assert.Equal(RunStatus.Timeout, timedOut.Status);
            Assert.Contains("timeout of 1 s", timedOut.ErrorMessage);
            Assert.Equal("STOPPED", (await standIn.WaitForEndAsync(late.RunId, Generous)).Status);

            // A failing run inside a sweep is failed with Ray's reason; the others are unaffected.
            var mixed = await runner.RunSweepAsync(new object[]
            {
                new Dictionary<string, object?> { ["value"] = 1L },
                new Dictionary<string, object?> { ["exit"] = 2L, ["noresult"] = 1L },
            }, null, cts.Token);
            Assert.Equal(RunStatus.Completed, mixed[0].Status);
            Assert.Equal(RunStatus.Failed, mixed[1].Status);
            Assert.Contains("exit code 2", mixed[1].ErrorMessage);

            // Shutdown leaves a cluster RayRunner did not start running, and says so.
            await runner.ShutdownAsync(cts.Token);
            Assert.False(backend.StartedCluster);
            Assert.Contains("did not start it", backend.ShutdownMessage);
            Assert.Equal(200, (int)(await new System.Net.Http.HttpClient().GetAsync(standIn.Address + "/api/gcs_healthz")).StatusCode);
        }

        [Fact]
        public async Task A_200_run_sweep_under_10_percent_injected_faults_ends_with_200_results_and_no_duplicate_submission()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 256 });
            var options = RayTestSupport.Fast(standIn.Address, requestTimeout: TimeSpan.FromMilliseconds(750), maxRetries: 10);
            var (backend, runner) = await CreateAsync(standIn, maxConcurrent: 16, options);
            using var _ = backend;
            using var __ = runner;

            standIn.Faults.StallFor = TimeSpan.FromSeconds(2);
            // Make sure each kind happens at least once on a submit, then 10% of everything at random.
            standIn.Faults.Once("POST", p => p == "/api/jobs/", FaultKind.LoseResponse);
            standIn.Faults.Once("POST", p => p == "/api/jobs/", FaultKind.ServerError);
            standIn.Faults.Once("POST", p => p == "/api/jobs/", FaultKind.Drop);
            standIn.Faults.Once("POST", p => p == "/api/jobs/", FaultKind.Stall);
            standIn.Faults.Random = StandInFaults.RandomPlan(0.10, seed: 20260101, FaultKind.ServerError, FaultKind.Drop, FaultKind.LoseResponse, FaultKind.Stall);

            var configs = Enumerable.Range(0, 200).Select(i => (object)new Dictionary<string, object?> { ["value"] = (long)i }).ToList();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            var results = await runner.RunSweepAsync(configs, null, cts.Token);
            standIn.Faults.Random = null;

            Assert.Equal(200, results.Count);
            for (var i = 0; i < 200; i++)
            {
                Assert.True(results[i].Status == RunStatus.Completed, $"run {i}: {results[i].Status} {results[i].ErrorMessage}");
                Assert.Equal(i, results[i].Metrics["value"]);
            }
            Assert.Equal(200, results.Select(r => r.RunId).Distinct().Count());
            Assert.Equal(200, standIn.JobsCreated.Count);
            Assert.All(standIn.JobsCreated, kv => Assert.Equal(1, kv.Value));
            Assert.Empty(standIn.DuplicateSubmits); // no POST ever reached Ray for a job it already had
            // The cap holds under faults too, against a cluster that would take all 200 at once.
            Assert.True(standIn.MaxActive <= 16, $"at most MaxConcurrent jobs are handed to Ray at once, saw {standIn.MaxActive}");

            Assert.True(standIn.Faults.Injected(FaultKind.LoseResponse) >= 1);
            Assert.True(standIn.Faults.TotalInjected >= 40, $"only {standIn.Faults.TotalInjected} faults were injected");
        }
    }
}
