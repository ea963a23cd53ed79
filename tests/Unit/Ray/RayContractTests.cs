using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Ray;
using RayRunner.Tests.Unit.Local;
using RayRunner.Tests.Unit.Ray.StandIn;
using Xunit;
using Runner = RayRunner.Core.ExperimentRunner;

namespace RayRunner.Tests.Unit.Ray
{
    /// <summary>
    /// The product against the parts of Ray's contract (shared/ray/jobs-rest-api.md §4) that a kind
    /// stand-in never showed: a stop before the supervisor exists, a stop that a PENDING job
    /// ignores, SIGTERM with a grace period, the start timeout, DRIVER jobs in the list, and a 400
    /// for a field of the wrong type.
    /// </summary>
    public class RayContractTests
    {
        static readonly TimeSpan Generous = RayTestSupport.Generous;

        static int StopRequests(RayDashboardStandIn standIn, string id) => standIn.CountRequests("POST", p => p == $"/api/jobs/{id}/stop");

        [UnixFact]
        public async Task A_stop_before_the_supervisor_exists_is_sent_again_until_Ray_takes_it()
        {
            // Ray answers stopped:false while the job's supervisor actor is not up yet, and does nothing.
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { SupervisorStartDelay = TimeSpan.FromMilliseconds(600) });
            using var backend = await RayTestSupport.ConnectAsync(standIn, RayTestSupport.Fast(standIn.Address, maxRetries: 40));
            var task = await backend.SubmitAsync(RayTestSupport.Spec("early01", new Dictionary<string, object?> { ["sleep"] = 30L }), new TaskOptions(), default);

            await backend.CancelAsync(task, default);

            Assert.True(StopRequests(standIn, "early01") >= 2, "the first stop found no supervisor, so it must have been sent again");
            Assert.Equal(1, standIn.StopsAccepted);
            Assert.Equal("STOPPED", (await standIn.WaitForEndAsync("early01", Generous)).Status);
            Assert.Equal(RunStatus.Cancelled, (await backend.GetAsync(task, new CancellationTokenSource(Generous).Token)).Status);
        }

        [UnixFact]
        public async Task A_stop_that_never_finds_a_supervisor_fails_with_what_to_do()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { SupervisorStartDelay = TimeSpan.FromMinutes(5) });
            using var backend = await RayTestSupport.ConnectAsync(standIn, RayTestSupport.Fast(standIn.Address, maxRetries: 3));
            var task = await backend.SubmitAsync(RayTestSupport.Spec("never01"), new TaskOptions(), default);

            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => backend.CancelAsync(task, default));

            Assert.Contains("did not accept a stop after 4 tries", ex.Message);
            Assert.Contains("ray job stop never01", ex.Message);
            Assert.Equal(4, StopRequests(standIn, "never01"));
        }

        [UnixFact]
        public async Task A_cancelled_run_whose_PENDING_stop_Ray_ignored_is_stopped_once_it_starts()
        {
            // ray#58353: a stop of a PENDING job can answer true and do nothing; the job runs later.
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 1, IgnoreStopWhilePending = true, StopGracePeriod = TimeSpan.FromSeconds(1) });
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var holder = await backend.SubmitAsync(RayTestSupport.Spec("hold001", new Dictionary<string, object?> { ["sleep"] = 1.5 }), RayTestSupport.SlotOptions(), default);
            await RayJobsBackendTests.WaitForStatus(standIn, "hold001", "RUNNING");
            var waiting = await backend.SubmitAsync(RayTestSupport.Spec("wait001", new Dictionary<string, object?> { ["sleep"] = 20L }), RayTestSupport.SlotOptions(), default);
            await RayTestSupport.EventuallyAsync(() => Task.FromResult(standIn.Job("wait001")!.HasSupervisor), up => up, Generous);

            await backend.CancelAsync(waiting, default);
            Assert.Equal("PENDING", standIn.Job("wait001")!.Status); // Ray said stopped:true and did nothing

            // The slot frees, Ray starts the job it was told to stop: RayRunner must stop it then.
            var ended = await standIn.WaitForEndAsync("wait001", TimeSpan.FromSeconds(15));
            Assert.Equal("STOPPED", ended.Status);
            Assert.Equal(RunStatus.Cancelled, (await backend.GetAsync(waiting, new CancellationTokenSource(Generous).Token)).Status);
            Assert.Equal(RunStatus.Completed, (await backend.GetAsync(holder, new CancellationTokenSource(Generous).Token)).Status);
        }

        [UnixFact]
        public async Task A_stop_is_SIGTERM_then_SIGKILL_after_the_grace_period_and_the_run_ends_cancelled()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { StopGracePeriod = TimeSpan.FromSeconds(1) });
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            // An experiment that notes SIGTERM and keeps going, as a slow checkpoint writer would.
            var dir = RayTestSupport.NewTempDir();
            var script = Path.Combine(dir, "stubborn.sh");
            File.WriteAllText(script, "trap 'echo got-TERM' TERM\necho started\nwhile true; do sleep 0.05; done\n");
            var task = await backend.SubmitAsync(RayTestSupport.Spec("term001", template: $"sh {script}"), new TaskOptions(), default);
            await RayJobsBackendTests.WaitForStatus(standIn, "term001", "RUNNING");
            var job = standIn.Job("term001")!;
            await RayTestSupport.EventuallyAsync(() => Task.FromResult(File.Exists(job.LogPath) && File.ReadAllText(job.LogPath).Contains("started")), seen => seen, Generous);

            var clock = System.Diagnostics.Stopwatch.StartNew();
            await backend.CancelAsync(task, default);
            var output = await backend.GetAsync(task, new CancellationTokenSource(Generous).Token);

            Assert.Equal(RunStatus.Cancelled, output.Status);
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"the job ignored SIGTERM, so it ends only after the grace period; it ended after {clock.Elapsed}");
            Assert.Contains("got-TERM", File.ReadAllText(job.LogPath));
            Directory.Delete(dir, recursive: true);
        }

        [UnixFact]
        public async Task A_run_Ray_cannot_place_fails_at_the_start_timeout_with_Rays_reason()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { StartTimeout = TimeSpan.FromSeconds(1) });
            using var backend = new RayJobsBackend(RayTestSupport.Fast(standIn.Address));
            // One GPU per run on a cluster without GPUs: Ray keeps the job PENDING, then fails it.
            using var runner = await Runner.CreateAsync(backend, new RayRunnerOptions { Entrypoint = RayTestSupport.Entrypoint, NumGpusPerTask = 1 });
            using var cts = new CancellationTokenSource(Generous);

            var result = await runner.RunExperimentAsync(new Dictionary<string, object?> { ["value"] = 1L }, cancellationToken: cts.Token);

            Assert.Equal(RunStatus.Failed, result.Status);
            Assert.Contains("JOB_SUPERVISOR_ACTOR_START_TIMEOUT", result.ErrorMessage);
            Assert.Contains("failed to start within 1 seconds", result.ErrorMessage);
            Assert.DoesNotContain("could not be read", result.ErrorMessage); // a job that never started has an empty log, not an unreadable one
            Assert.Equal(RunStatus.Failed, runner.Store.TryLoad(result.RunId)!.Status);
        }

        [UnixFact]
        public async Task DRIVER_jobs_in_the_list_are_neither_followed_nor_mistaken_for_runs()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { DriverJobs = 3, ExperimentSlots = 8 });
            using var backend = new RayJobsBackend(RayTestSupport.Fast(standIn.Address));
            using var runner = await Runner.CreateAsync(backend, new RayRunnerOptions { Entrypoint = RayTestSupport.Entrypoint, MaxConcurrent = 4 });
            using var cts = new CancellationTokenSource(Generous);

            // Several runs at once: the poller reads GET /api/jobs/, which holds the DRIVER jobs too.
            var results = await runner.RunSweepAsync(Enumerable.Range(0, 6).Select(i => (object)new Dictionary<string, object?> { ["value"] = (long)i, ["sleep"] = 0.2 }).ToList(), null, cts.Token);

            Assert.All(results, r => Assert.Equal(RunStatus.Completed, r.Status));
            Assert.True(standIn.CountRequests("GET", p => p == "/api/jobs/") >= 1, "the list route was used");
            var listed = await backend.Client.ListJobsAsync(default);
            Assert.Equal(3, listed.Count(j => j.Type == "DRIVER" && j.SubmissionId == null));
            Assert.Equal(6, listed.Count(j => j.Type == "SUBMISSION"));
        }

        [Theory]
        [InlineData("{\"entrypoint\":\"true\",\"submission_id\":\"type001\",\"entrypoint_num_cpus\":\"1\"}", "entrypoint_num_cpus must be a number, got <class 'str'>")]
        [InlineData("{\"entrypoint\":\"true\",\"submission_id\":\"type002\",\"metadata\":{\"owner\":7}}", "metadata values must be strings, got <class 'int'>")]
        [InlineData("{\"entrypoint\":\"true\",\"submission_id\":\"type003\",\"runtime_env\":{\"env_vars\":{\"SEED\":1}}}", "env_vars values must be strings")]
        [InlineData("{\"entrypoint\":\"true\",\"submission_id\":\"type004\",\"runtime_env\":\"{}\"}", "runtime_env must be a dict")]
        [InlineData("{\"entrypoint\":\"true\",\"submission_id\":5}", "submission_id must be a string")]
        public async Task A_field_of_the_wrong_type_is_a_400_that_is_not_retried(string body, string expected)
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            using var backend = await RayTestSupport.ConnectAsync(standIn);

            var ex = await Assert.ThrowsAsync<RayApiException>(() => backend.Client.SubmitJobAsync("typed", Encoding.UTF8.GetBytes(body), default));

            Assert.Equal(400, ex.StatusCode);
            Assert.Contains(expected, ex.ServerMessage);
            Assert.Equal(1, standIn.CountRequests("POST", p => p == "/api/jobs/"));
            Assert.Empty(standIn.JobsCreated);
        }

        [UnixFact]
        public async Task Every_request_the_product_builds_has_Rays_field_types()
        {
            // Options, env vars, metadata and a working_dir: a wrong type anywhere would be a 400 now.
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { RayVersion = "2.54.0", ExperimentSlots = 2 });
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var dir = RayTestSupport.NewTempDir();
            File.WriteAllText(Path.Combine(dir, "note.txt"), "x");
            var spec = RayTestSupport.Spec("types01", new Dictionary<string, object?> { ["value"] = 3L, ["lr"] = 0.5, ["name"] = "a b" }, workingDirectory: dir, sweepId: "s1");
            var task = await backend.SubmitAsync(spec, new TaskOptions { NumCpus = 1.5, NumGpus = 0, Resources = new Dictionary<string, double> { ["experiment_slot"] = 1 } }, default);

            Assert.Equal(RunStatus.Completed, (await backend.GetAsync(task, new CancellationTokenSource(Generous).Token)).Status);
            Directory.Delete(dir, recursive: true);
        }
    }
}
