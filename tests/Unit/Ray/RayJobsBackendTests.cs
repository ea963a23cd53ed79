using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Ray;
using RayRunner.Tests.Unit.Ray.StandIn;
using Xunit;

namespace RayRunner.Tests.Unit.Ray
{
    /// <summary>The backend seam against the dashboard stand-in: submit, status, results, cancel, remove, logs.</summary>
    public class RayJobsBackendTests
    {
        static readonly TimeSpan Generous = RayTestSupport.Generous;

        static async Task<TaskOutput> GetAsync(RayJobsBackend backend, TaskRef task)
        {
            using var cts = new CancellationTokenSource(Generous);
            return await backend.GetAsync(task, cts.Token);
        }

        [Fact]
        public async Task A_submitted_run_is_a_ray_job_with_the_contract_fields_and_its_result_is_read()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 4 });
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            Assert.True(backend.UsesExperimentSlots);

            var spec = RayTestSupport.Spec("run0001", new Dictionary<string, object?> { ["value"] = 7L, ["note"] = "it's $HOME; rm -rf /" }, sweepId: "sw1");
            var task = await backend.SubmitAsync(spec, RayTestSupport.SlotOptions(), default);
            Assert.Equal("ray", task.Backend);
            Assert.Equal(standIn.Address, task.Locator[RayJobsBackend.LocatorAddress]);
            Assert.Equal("run0001", task.Locator[RayJobsBackend.LocatorSubmissionId]);

            var output = await GetAsync(backend, task);
            Assert.Equal(RunStatus.Completed, output.Status);
            Assert.Equal(7, output.Metrics["value"]); // the last result line, not the early one
            Assert.Equal(3, output.Metrics["steps"]);
            Assert.Equal("file:///ckpt/run0001", output.CheckpointUri);
            Assert.NotNull(output.StartedAt);
            Assert.True(output.CompletedAt >= output.StartedAt);

            var job = standIn.Job("run0001")!;
            using var body = JsonDocument.Parse(job.RequestBody);
            var root = body.RootElement;
            Assert.Equal("run0001", root.GetProperty("submission_id").GetString());
            Assert.Equal(EntrypointTemplate.ToPosixShell(spec.Arguments()), root.GetProperty("entrypoint").GetString());
            Assert.Equal(1, root.GetProperty("entrypoint_num_cpus").GetDouble());
            Assert.False(root.TryGetProperty("entrypoint_num_gpus", out _));
            Assert.Equal(1, root.GetProperty("entrypoint_resources").GetProperty("experiment_slot").GetDouble());
            var env = root.GetProperty("runtime_env").GetProperty("env_vars");
            Assert.Equal("run0001", env.GetProperty("RAYRUNNER_RUN_ID").GetString());
            Assert.Contains("\"run_id\":\"run0001\"", env.GetProperty("RAYRUNNER_TASK_INPUT").GetString());
            Assert.Equal("run0001", job.Metadata["rayrunner_run_id"]);
            Assert.Equal("sw1", job.Metadata["rayrunner_sweep_id"]);
            Assert.True(job.Metadata.ContainsKey("rayrunner_version"));

            // The shell saw the hostile config value as data: it reached the experiment verbatim.
            var log = await backend.ReadLogAsync(task, null, default);
            Assert.Contains("it's $HOME; rm -rf /", log);
            Assert.Contains("stderr line", log);

            // No browser-like header, our own User-Agent, and the trailing-slash routes.
            Assert.All(standIn.Requests, r => Assert.StartsWith("RayRunner/", r.UserAgent));
            Assert.All(standIn.Requests, r => Assert.DoesNotContain(r.HeaderNames, h => h is "Origin" or "Referer"));
            Assert.Equal(1, standIn.CountRequests("POST", p => p == "/api/jobs/"));
        }

        [Fact]
        public async Task A_run_submitted_after_a_look_up_by_id_found_nothing_is_followed_to_its_result()
        {
            // After a crash between "claimed" and "submitted" the runner first asks for the run by id.
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 4 });
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var bare = new TaskRef("ray", "late0001");
            var lookUp = await backend.WaitAsync(new[] { bare }, 1, TimeSpan.Zero, default);
            Assert.Contains(bare, lookUp.Ready); // Ray's answer for an unknown job: over, with an error
            await Assert.ThrowsAsync<RayJobNotFoundException>(() => GetAsync(backend, bare));

            var task = await backend.SubmitAsync(RayTestSupport.Spec("late0001", new Dictionary<string, object?> { ["value"] = 5L }), RayTestSupport.SlotOptions(), default);
            var output = await GetAsync(backend, task);

            Assert.Equal(RunStatus.Completed, output.Status);
            Assert.Equal(5, output.Metrics["value"]);
            Assert.Equal(1, standIn.JobsCreated["late0001"]);
        }

        [Fact]
        public async Task No_experiment_slot_is_asked_of_a_cluster_that_lacks_it()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = null });
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            Assert.False(backend.UsesExperimentSlots);
            var task = await backend.SubmitAsync(RayTestSupport.Spec("noslot1"), RayTestSupport.SlotOptions(), default);
            Assert.Equal(RunStatus.Completed, (await GetAsync(backend, task)).Status); // would stay PENDING had we asked
            using var body = JsonDocument.Parse(standIn.Job("noslot1")!.RequestBody);
            Assert.False(body.RootElement.TryGetProperty("entrypoint_resources", out _));
        }

        [Fact]
        public async Task An_old_cluster_gets_no_fields_it_does_not_know()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { RayVersion = "2.1.0", ApiVersion = "3", ExperimentSlots = 2 });
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var task = await backend.SubmitAsync(RayTestSupport.Spec("old0001"), RayTestSupport.SlotOptions(), default);
            Assert.Equal(RunStatus.Completed, (await GetAsync(backend, task)).Status);
            using var body = JsonDocument.Parse(standIn.Job("old0001")!.RequestBody);
            Assert.False(body.RootElement.TryGetProperty("entrypoint_num_cpus", out _));
            Assert.False(body.RootElement.TryGetProperty("entrypoint_resources", out _));

            // GPUs cannot be had there: a clear refusal instead of a silent CPU run.
            var ex = await Assert.ThrowsAsync<NotSupportedException>(() => backend.SubmitAsync(RayTestSupport.Spec("old0002"), new TaskOptions { NumGpus = 1 }, default));
            Assert.Contains("2.2", ex.Message);
            // DELETE arrived with API version 4.
            await Assert.ThrowsAsync<NotSupportedException>(() => backend.RemoveAsync(task, default));
        }

        [Fact]
        public async Task The_stand_in_really_rejects_unknown_fields_so_the_version_gate_matters()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { RayVersion = "2.1.0" });
            using var http = new System.Net.Http.HttpClient();
            var response = await http.PostAsync(standIn.Address + "/api/jobs/", new System.Net.Http.StringContent("{\"entrypoint\":\"true\",\"entrypoint_num_cpus\":1}"));
            Assert.Equal(400, (int)response.StatusCode);
            Assert.Contains("unexpected keyword argument 'entrypoint_num_cpus'", await response.Content.ReadAsStringAsync());
            // and the route without the trailing slash does not exist
            Assert.Equal(404, (int)(await http.GetAsync(standIn.Address + "/api/jobs")).StatusCode);
            // and a browser-like POST is refused
            using var browser = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Post, standIn.Address + "/api/jobs/") { Content = new System.Net.Http.StringContent("{\"entrypoint\":\"true\"}") };
            browser.Headers.TryAddWithoutValidation("User-Agent", "Mozilla/5.0 (Windows NT 10.0) WindowsPowerShell/5.1");
            Assert.Equal(405, (int)(await http.SendAsync(browser)).StatusCode);
        }

        [Fact]
        public async Task A_failed_job_reports_rays_error_type_exit_code_and_message()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var task = await backend.SubmitAsync(RayTestSupport.Spec("fail001", new Dictionary<string, object?> { ["exit"] = 3L, ["noresult"] = 1L }), new TaskOptions(), default);
            var output = await GetAsync(backend, task);
            Assert.Equal(RunStatus.Failed, output.Status);
            Assert.Contains("JOB_ENTRYPOINT_COMMAND_ERROR", output.ErrorMessage);
            Assert.Contains("exit code 3", output.ErrorMessage);
            Assert.Contains("stderr line", output.ErrorMessage); // Ray's message carries the last log lines
            Assert.Empty(output.Metrics);
        }

        [Fact]
        public async Task A_succeeded_job_whose_result_says_failed_is_failed_with_its_metrics()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var task = await backend.SubmitAsync(RayTestSupport.Spec("said001", new Dictionary<string, object?> { ["status"] = "failed", ["value"] = 2L }), new TaskOptions(), default);
            var output = await GetAsync(backend, task);
            Assert.Equal(RunStatus.Failed, output.Status);
            Assert.Equal("the experiment said failed", output.ErrorMessage);
            Assert.Equal(2, output.Metrics["value"]);

            var none = await backend.SubmitAsync(RayTestSupport.Spec("none001", new Dictionary<string, object?> { ["noresult"] = 1L }), new TaskOptions(), default);
            var plain = await GetAsync(backend, none);
            Assert.Equal(RunStatus.Completed, plain.Status);
            Assert.Empty(plain.Metrics);
        }

        [Fact]
        public async Task Jobs_stay_pending_until_slots_free_and_wait_reports_the_phases()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 1 });
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var first = await backend.SubmitAsync(RayTestSupport.Spec("slot001", new Dictionary<string, object?> { ["sleep"] = 30L }), RayTestSupport.SlotOptions(), default);
            // Ray starts supervisors in no set order: the first takes the one slot before the second arrives.
            await WaitForStatus(standIn, "slot001", "RUNNING");
            var second = await backend.SubmitAsync(RayTestSupport.Spec("slot002"), RayTestSupport.SlotOptions(), default);

            // Wait until the poller has seen the first one running (it is: its driver started).
            var deadline = DateTime.UtcNow + Generous;
            WaitResult wait;
            do
            {
                wait = await backend.WaitAsync(new[] { first, second }, 1, TimeSpan.Zero, default);
                if (wait.PhaseOf(first) == RunStatus.Running) break;
                await Task.Delay(20);
            } while (DateTime.UtcNow < deadline);
            Assert.Empty(wait.Ready);
            Assert.Equal(RunStatus.Running, wait.PhaseOf(first));
            Assert.Equal(RunStatus.Pending, wait.PhaseOf(second));
            Assert.Equal("PENDING", standIn.Job("slot002")!.Status);

            // Freeing the slot lets the second one run to the end.
            await backend.CancelAsync(first, default);
            var done = await backend.WaitAsync(new[] { first, second }, 2, Generous, default);
            Assert.Equal(2, done.Ready.Count);
            Assert.Equal(RunStatus.Cancelled, (await GetAsync(backend, first)).Status);
            Assert.Equal(RunStatus.Completed, (await GetAsync(backend, second)).Status);
        }

        [Fact]
        public async Task Cancel_is_safe_to_repeat_and_on_finished_or_unknown_jobs()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var task = await backend.SubmitAsync(RayTestSupport.Spec("cancel1", new Dictionary<string, object?> { ["sleep"] = 30L }), new TaskOptions(), default);
            await WaitForStatus(standIn, "cancel1", "RUNNING");
            await backend.CancelAsync(task, default);
            var output = await GetAsync(backend, task);
            Assert.Equal(RunStatus.Cancelled, output.Status);
            Assert.Equal("STOPPED", standIn.Job("cancel1")!.Status);
            // stopped:false for a finished job is success (KubeRay's rule)
            await backend.CancelAsync(task, default);
            await backend.CancelAsync(new TaskRef("ray", "neverwas"), default);
        }

        [Fact]
        public async Task Remove_deletes_only_finished_jobs()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var running = await backend.SubmitAsync(RayTestSupport.Spec("rm00001", new Dictionary<string, object?> { ["sleep"] = 30L }), new TaskOptions(), default);
            var done = await backend.SubmitAsync(RayTestSupport.Spec("rm00002"), new TaskOptions(), default);
            await GetAsync(backend, done);
            await WaitForStatus(standIn, "rm00001", "RUNNING");

            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => backend.RemoveAsync(running, default));
            Assert.Contains("cancel", ex.Message);
            Assert.NotNull(standIn.Job("rm00001"));

            await backend.RemoveAsync(done, default);
            Assert.Null(standIn.Job("rm00002"));
            await backend.RemoveAsync(done, default); // already gone: nothing to do
            await backend.CancelAsync(running, default);
        }

        [Fact]
        public async Task A_log_tail_is_bounded_for_finished_and_running_jobs()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var task = await backend.SubmitAsync(RayTestSupport.Spec("tail001", new Dictionary<string, object?> { ["spam"] = 300L }), new TaskOptions(), default);
            await GetAsync(backend, task);
            var tail = await backend.ReadLogAsync(task, 3, default);
            var lines = tail.TrimEnd('\n').Split('\n');
            Assert.Equal(3, lines.Length);
            Assert.StartsWith("RAYRUNNER_RESULT", lines[1]);
            Assert.Equal("stderr line", lines[2]);

            var live = await backend.SubmitAsync(RayTestSupport.Spec("tail002", new Dictionary<string, object?> { ["sleep"] = 30L }), new TaskOptions(), default);
            await WaitForStatus(standIn, "tail002", "RUNNING");
            var deadline = DateTime.UtcNow + Generous;
            string liveTail;
            do liveTail = await backend.ReadLogAsync(live, 5, default); // returns after the idle cutoff, job still running
            while (!liveTail.Contains("task input") && DateTime.UtcNow < deadline);
            Assert.Contains("run tail002 starting", liveTail);
            Assert.Equal("RUNNING", standIn.Job("tail002")!.Status);
            await backend.CancelAsync(live, default);
        }

        [Fact]
        public async Task One_poller_asks_once_per_tick_for_all_runs_and_backs_off_while_nothing_changes()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            var options = RayTestSupport.Fast(standIn.Address);
            using var backend = await RayTestSupport.ConnectAsync(standIn, options);
            var tasks = new List<TaskRef>();
            for (var i = 0; i < 6; i++)
                tasks.Add(await backend.SubmitAsync(RayTestSupport.Spec($"poll{i:000}", new Dictionary<string, object?> { ["sleep"] = 30L }), new TaskOptions(), default));
            var waits = tasks.Select(t => backend.GetAsync(t, CancellationToken.None)).ToList();
            foreach (var t in tasks) await WaitForStatus(standIn, t.RunId, "RUNNING");

            // Let the poller settle on RUNNING, then count: one list per tick, no per-run GETs.
            await backend.WaitAsync(tasks, 0, TimeSpan.Zero, default);
            var deadline = DateTime.UtcNow + Generous;
            while (backend.Poller.CurrentInterval < options.PollIntervalMax && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.Equal(options.PollIntervalMax, backend.Poller.CurrentInterval);

            var ticks = backend.Poller.Ticks;
            var lists = standIn.CountRequests("GET", p => p == "/api/jobs/");
            var singles = standIn.CountRequests("GET", p => p.StartsWith("/api/jobs/poll", StringComparison.Ordinal) && !p.Contains("/logs"));
            deadline = DateTime.UtcNow + Generous;
            while (backend.Poller.Ticks < ticks + 3 && DateTime.UtcNow < deadline) await Task.Delay(20);
            var tickDelta = backend.Poller.Ticks - ticks;
            Assert.True(tickDelta >= 3);
            var listDelta = standIn.CountRequests("GET", p => p == "/api/jobs/") - lists;
            Assert.InRange(listDelta, tickDelta - 1, tickDelta + 1);
            Assert.Equal(singles, standIn.CountRequests("GET", p => p.StartsWith("/api/jobs/poll", StringComparison.Ordinal) && !p.Contains("/logs")));

            foreach (var t in tasks) await backend.CancelAsync(t, default);
            var outputs = await Task.WhenAll(waits).WaitAsync(Generous);
            Assert.All(outputs, o => Assert.Equal(RunStatus.Cancelled, o.Status));
        }

        [Fact]
        public async Task Jobs_submitted_in_a_burst_share_status_ticks_spaced_by_the_minimum_interval()
        {
            // Issue 14c: every new job used to wake the poller for a tick of its own, so a sweep sent
            // about one GET /api/jobs/ per run. Ticks now stay PollIntervalMin apart; an explicit
            // refresh still cuts in at once.
            await using var standIn = await RayDashboardStandIn.StartAsync();
            var options = RayTestSupport.Fast(standIn.Address) with { PollIntervalMin = TimeSpan.FromSeconds(5), PollIntervalMax = TimeSpan.FromSeconds(5) };
            using var backend = await RayTestSupport.ConnectAsync(standIn, options);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var tasks = new List<TaskRef>();
            for (var i = 0; i < 12; i++)
                tasks.Add(await backend.SubmitAsync(RayTestSupport.Spec($"burst{i:000}", new Dictionary<string, object?> { ["sleep"] = 30L }), new TaskOptions(), default));
            var ticks = backend.Poller.Ticks;
            var elapsed = clock.Elapsed;
            // The first job's tick comes at once; after that one per 5 s at most (+1 for a tick under way).
            Assert.InRange(ticks, 0, 2 + (long)(elapsed.TotalSeconds / 5));

            await backend.Poller.RefreshAsync(new CancellationTokenSource(Generous).Token);
            Assert.All(tasks, t => Assert.NotNull(backend.Poller.Find(t.RunId)!.Last));
            foreach (var t in tasks) await backend.CancelAsync(t, default);
        }

        [Fact]
        public async Task With_a_long_job_history_the_poller_asks_by_id_instead_of_listing_everything()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            backend.Poller.ListSizeFloor = 0;
            backend.Poller.ListJobsPerActiveRunLimit = 2;
            for (var i = 0; i < 8; i++)
                await GetAsync(backend, await backend.SubmitAsync(RayTestSupport.Spec($"hist{i:000}", new Dictionary<string, object?> { ["noresult"] = 1L }), new TaskOptions(), default));

            var live = new List<TaskRef>();
            for (var i = 0; i < 2; i++)
                live.Add(await backend.SubmitAsync(RayTestSupport.Spec($"live{i:000}", new Dictionary<string, object?> { ["sleep"] = 30L }), new TaskOptions(), default));
            foreach (var t in live) await WaitForStatus(standIn, t.RunId, "RUNNING");
            await backend.WaitAsync(live, 0, TimeSpan.Zero, default);
            await backend.Poller.RefreshAsync(default); // by now the poller knows the list holds 10 jobs

            var lists = standIn.CountRequests("GET", p => p == "/api/jobs/");
            var byId = standIn.CountRequests("GET", p => p.StartsWith("/api/jobs/live", StringComparison.Ordinal) && !p.Contains("/logs"));
            for (var i = 0; i < 3; i++) await backend.Poller.RefreshAsync(default);
            Assert.Equal(lists, standIn.CountRequests("GET", p => p == "/api/jobs/"));
            Assert.True(standIn.CountRequests("GET", p => p.StartsWith("/api/jobs/live", StringComparison.Ordinal) && !p.Contains("/logs")) >= byId + 6);

            foreach (var t in live) await backend.CancelAsync(t, default);
            foreach (var t in live) Assert.Equal(RunStatus.Cancelled, (await GetAsync(backend, t)).Status);
        }

        [Fact]
        public async Task A_job_lost_with_its_cluster_fails_the_wait_with_a_clear_error()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var ex = await Assert.ThrowsAsync<RayJobNotFoundException>(() => GetAsync(backend, new TaskRef("ray", "gone0001")));
            Assert.Contains("gone0001", ex.Message);
            var other = new TaskRef("ray", "x1", new Dictionary<string, string> { [RayJobsBackend.LocatorAddress] = "http://10.1.1.1:8265", [RayJobsBackend.LocatorSubmissionId] = "x1" });
            var wrong = await Assert.ThrowsAsync<InvalidOperationException>(() => backend.GetAsync(other, default));
            Assert.Contains("http://10.1.1.1:8265", wrong.Message);
        }

        [Fact]
        public async Task A_working_directory_is_uploaded_once_and_unpacked_for_every_run()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var dir = RayTestSupport.NewTempDir();
            File.WriteAllText(Path.Combine(dir, "data.txt"), "shipped content");
            File.WriteAllText(Path.Combine(dir, ".rayignore"), "*.tmp\n");
            File.WriteAllText(Path.Combine(dir, "scratch.tmp"), "not shipped");

            var submits = Enumerable.Range(0, 5).Select(i => backend.SubmitAsync(RayTestSupport.Spec($"wd{i:00000}", workingDirectory: dir, template: "cat data.txt"), new TaskOptions(), default)).ToList();
            var tasks = await Task.WhenAll(submits);
            foreach (var t in tasks)
            {
                var output = await GetAsync(backend, t);
                Assert.Equal(RunStatus.Completed, output.Status);
                Assert.Contains("shipped content", await backend.ReadLogAsync(t, null, default));
            }
            Assert.Equal(1, standIn.PackagePuts);
            Assert.Equal(1, backend.PackagesUploaded);
            var uri = standIn.Job("wd00000")!.WorkingDirUri!;
            Assert.Matches("^gcs://_ray_pkg_[0-9a-f]{16}\\.zip$", uri);
            Assert.All(standIn.AllJobs(), j => Assert.Equal(uri, j.WorkingDirUri));
            Assert.False(File.Exists(Path.Combine(standIn.Job("wd00000")!.RunDirectory!, "scratch.tmp")));

            // A change in content is a new package; the head is asked first and the old one reused when it has it.
            File.WriteAllText(Path.Combine(dir, "data.txt"), "changed");
            var changed = await backend.SubmitAsync(RayTestSupport.Spec("wd00009", workingDirectory: dir, template: "cat data.txt"), new TaskOptions(), default);
            await GetAsync(backend, changed);
            Assert.Equal(2, standIn.PackagePuts);
            Assert.NotEqual(uri, standIn.Job("wd00009")!.WorkingDirUri);
        }

        [Fact]
        public async Task A_working_directory_over_the_limit_is_refused_before_any_upload()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            var options = RayTestSupport.Fast(standIn.Address);
            using var backend = await RayTestSupport.ConnectAsync(standIn, new RayBackendOptions
            {
                Address = options.Address, Environment = options.Environment, MaxPackageBytes = 50_000,
                PollIntervalMin = options.PollIntervalMin, RetryDelay = options.RetryDelay,
            });
            var dir = RayTestSupport.NewTempDir();
            var bytes = new byte[120_000];
            new Random(2).NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(dir, "model.bin"), bytes);
            var ex = await Assert.ThrowsAsync<RayPackageException>(() => backend.SubmitAsync(RayTestSupport.Spec("big0001", workingDirectory: dir), new TaskOptions(), default));
            Assert.Contains("MiB", ex.Message);
            Assert.Equal(0, standIn.PackagePuts);
            Assert.Null(standIn.Job("big0001"));
        }

        internal static async Task WaitForStatus(RayDashboardStandIn standIn, string id, string status)
        {
            var deadline = DateTime.UtcNow + Generous;
            while (standIn.Job(id)?.Status != status)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"job {id} never reached {status} (is {standIn.Job(id)?.Status})");
                await Task.Delay(20);
            }
        }
    }
}
