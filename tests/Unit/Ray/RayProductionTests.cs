using System;
using System.Collections.Concurrent;
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
using Runner = RayRunner.Core.ExperimentRunner;

namespace RayRunner.Tests.Unit.Ray
{
    /// <summary>
    /// Issue 15 (Ray in production) against the dashboard stand-in: per-run resources and
    /// runtime_env, jobs deleted from the head only after result and log are kept, the long-PENDING
    /// warning, logs kept in the run store and reconciled with a tail that drops lines, -Verbose notes.
    /// </summary>
    public class RayProductionTests
    {
        static readonly TimeSpan Generous = RayTestSupport.Generous;

        static RayBackendOptions Options(RayDashboardStandIn standIn, string? logs, ConcurrentQueue<string>? notes = null,
            ConcurrentQueue<string>? warnings = null, bool keepJobs = false, TimeSpan? pendingAfter = null) =>
            RayTestSupport.Fast(standIn.Address) with
            {
                LogPathFor = logs == null ? null : id => Path.Combine(Directory.CreateDirectory(Path.Combine(logs, id)).FullName, "run.log"),
                Log = notes == null ? null : notes.Enqueue,
                Warn = warnings == null ? null : warnings.Enqueue,
                KeepJobs = keepJobs,
                PendingWarningAfter = pendingAfter ?? TimeSpan.FromSeconds(60),
            };

        [Fact]
        public async Task Per_run_resources_memory_runtime_env_and_tags_reach_the_submit_body()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 8 });
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var spec = new TaskSpec(new TaskInput(new Dictionary<string, object?>(), "res-1") { AdditionalTags = new[] { "nightly", "lr-sweep" } },
                EntrypointTemplate.Parse(RayTestSupport.Entrypoint))
            {
                Environment = new Dictionary<string, string> { ["FROM_CALL"] = "call", ["BOTH"] = "call" },
            };
            var asked = new RunResources
            {
                NumCpus = 2, MemoryBytes = 3L << 30, Resources = new Dictionary<string, double> { ["accel"] = 0 },
                RuntimeEnvJson = RunResources.CheckRuntimeEnv("{\"pip\":[\"requests==2.31\"],\"env_vars\":{\"FROM_ENV\":\"env\",\"BOTH\":\"env\"},\"py_modules\":[\"gcs://m.zip\"]}"),
            };
            await backend.SubmitAsync(spec, asked.ApplyTo(RayTestSupport.SlotOptions()), default);

            using var body = JsonDocument.Parse(standIn.Job("res-1")!.RequestBody);
            var root = body.RootElement;
            Assert.Equal(2, root.GetProperty("entrypoint_num_cpus").GetDouble());
            Assert.Equal(3L << 30, root.GetProperty("entrypoint_memory").GetInt64());
            Assert.Equal(1, root.GetProperty("entrypoint_resources").GetProperty("experiment_slot").GetDouble()); // the cap is kept
            Assert.False(root.GetProperty("entrypoint_resources").TryGetProperty("accel", out _)); // 0 asks for nothing
            var env = root.GetProperty("runtime_env");
            Assert.Equal("requests==2.31", env.GetProperty("pip")[0].GetString());
            Assert.Equal("gcs://m.zip", env.GetProperty("py_modules")[0].GetString());
            Assert.Equal("env", env.GetProperty("env_vars").GetProperty("FROM_ENV").GetString());
            Assert.Equal("call", env.GetProperty("env_vars").GetProperty("BOTH").GetString()); // -Environment wins over runtime_env
            Assert.Equal("res-1", env.GetProperty("env_vars").GetProperty("RAYRUNNER_RUN_ID").GetString());
            Assert.Equal("nightly,lr-sweep", standIn.Job("res-1")!.Metadata["rayrunner_tags"]);
            Assert.Equal("SUCCEEDED", (await standIn.WaitForEndAsync("res-1", Generous)).Status);
        }

        [Fact]
        public async Task An_older_head_gets_no_entrypoint_memory_and_the_handshake_says_so()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { RayVersion = "2.5.1" });
            var notes = new ConcurrentQueue<string>();
            using var backend = await RayTestSupport.ConnectAsync(standIn, Options(standIn, null, notes));
            await backend.SubmitAsync(RayTestSupport.Spec("old-1"), new TaskOptions { NumCpus = 1, MemoryBytes = 1L << 30 }, default);
            Assert.DoesNotContain("entrypoint_memory", standIn.Job("old-1")!.RequestBody); // a 2.5 head would answer 400
            Assert.Contains(notes, n => n.Contains("Ray 2.5.1") && n.Contains("entrypoint_memory (Ray 2.8)"));
        }

        [Theory]
        [InlineData("[1,2]", "JSON object")]
        [InlineData("{\"working_dir\":\".\"}", "-WorkingDirectory")]
        [InlineData("{\"env_vars\":{\"N\":4}}", "must be text")]
        [InlineData("{\"pipp\":[]}", "not one Ray knows")]
        [InlineData("{not json", "not valid JSON")]
        public void A_bad_runtime_env_is_refused_saying_what_is_wrong(string json, string says)
        {
            var ex = Assert.ThrowsAny<ArgumentException>(() => RunResources.CheckRuntimeEnv(json));
            Assert.Contains(says, ex.Message);
        }

        [Fact]
        public void A_configs_own_resources_are_taken_out_of_it_and_win_over_the_calls()
        {
            var config = ExperimentConfig.Normalize(new Dictionary<string, object?>
            {
                ["lr"] = 0.1,
                ["_resources"] = new Dictionary<string, object?> { ["num_gpus"] = 1L, ["resources"] = new Dictionary<string, object?> { ["TPU"] = 2L } },
            });
            var (rest, own) = RunResources.FromConfig(config);
            Assert.False(rest.ContainsKey("_resources"));
            Assert.Equal(0.1, rest["lr"]);
            var call = new RunResources { NumCpus = 4, NumGpus = 0.5 };
            var options = own!.Over(call).ApplyTo(RayTestSupport.SlotOptions());
            Assert.Equal(4, options.NumCpus);
            Assert.Equal(1, options.NumGpus);
            Assert.Equal(2, options.Resources["TPU"]);
            Assert.Equal(1, options.Resources["experiment_slot"]);

            var bad = ExperimentConfig.Normalize(new Dictionary<string, object?> { ["_resources"] = new Dictionary<string, object?> { ["num_cpu"] = 1L } });
            var ex = Assert.Throws<ConfigValidationException>(() => RunResources.FromConfig(bad));
            Assert.Equal("_resources.num_cpu", ex.KeyPath);
        }

        [Theory]
        [InlineData("CPU", "num_cpus", "-NumCpus")]
        [InlineData("gpu", "num_gpus", "-NumGpus")]
        [InlineData("Memory", "memory", "-Memory")]
        [InlineData("object_store_memory", "memory", "-Memory")]
        public void Rays_own_resources_are_refused_as_custom_resources_naming_the_key_to_use(string name, string use, string parameter)
        {
            // Ray schedules CPU, GPU and memory itself: as a custom resource no node offers them and the job stays PENDING.
            var config = ExperimentConfig.Normalize(new Dictionary<string, object?>
            {
                ["_resources"] = new Dictionary<string, object?> { ["resources"] = new Dictionary<string, object?> { [name] = 2L } },
            });
            var ex = Assert.Throws<ConfigValidationException>(() => RunResources.FromConfig(config));
            Assert.Equal("_resources.resources." + name, ex.KeyPath);
            Assert.Contains("'_resources." + use + "'", ex.Message);
            Assert.Contains("Use " + parameter, RunResources.ReservedResourceProblem(name, forConfig: false)); // what -Resources says
            Assert.Null(RunResources.ReservedResourceProblem("TPU", forConfig: false));
            Assert.Null(RunResources.ReservedResourceProblem("CPUs", forConfig: false)); // only Ray's exact names, in any case
        }

        [Fact]
        public void A_rerun_of_a_failed_run_asks_for_what_the_run_asked_for()
        {
            var record = new RunRecord
            {
                RunId = "r1",
                Spec = new RunSpecRecord
                {
                    Entrypoint = "python train.py",
                    Options = new TaskOptions { NumCpus = 3, NumGpus = 1, MemoryBytes = 1L << 30, RuntimeEnv = "{\"pip\":[\"x\"]}",
                        Resources = new Dictionary<string, double> { ["experiment_slot"] = 1, ["TPU"] = 2 } },
                },
            };
            var options = SweepRerun.RequestFor(record).Resources!.ApplyTo(RayTestSupport.SlotOptions());
            Assert.Equal(3, options.NumCpus);
            Assert.Equal(1, options.NumGpus);
            Assert.Equal(1L << 30, options.MemoryBytes);
            Assert.Equal(2, options.Resources["TPU"]);
            Assert.Equal("{\"pip\":[\"x\"]}", options.RuntimeEnv);
        }

        [Fact]
        public async Task An_ended_jobs_log_is_read_whole_in_one_request_so_a_tail_that_drops_its_last_lines_cannot_lose_the_result()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { TailDropsLastLines = 2 });
            var logs = RayTestSupport.NewTempDir();
            var notes = new ConcurrentQueue<string>();
            using var backend = await RayTestSupport.ConnectAsync(standIn, Options(standIn, logs, notes));
            var task = await backend.SubmitAsync(RayTestSupport.Spec("drop-1", new Dictionary<string, object?> { ["value"] = 42L }), RayTestSupport.SlotOptions(), default);

            var output = await backend.GetAsync(task, new CancellationTokenSource(Generous).Token);
            // The tail would lose the final result line (value 42) and keep the early one (-1): the whole log decides.
            Assert.Equal(42, output.Metrics["value"]);
            var kept = File.ReadAllText(Path.Combine(logs, "drop-1", "run.log"));
            Assert.EndsWith("stderr line\n", kept);
            Assert.Contains("\"value\": 42", kept);
            Assert.Equal(Path.Combine(logs, "drop-1", "run.log"), task.Locator[RayJobsBackend.LocatorLog]);
            // One request for the log of an ended job (issue 14c): GET /logs, no tail to reconcile.
            Assert.Equal(1, standIn.CountRequests("GET", p => p == "/api/jobs/drop-1/logs"));
            Assert.Equal(0, standIn.CountRequests("GET", p => p == "/api/jobs/drop-1/logs/tail"));
            Assert.Empty(Directory.GetFiles(Path.Combine(logs, "drop-1"), "*.tmp", SearchOption.AllDirectories));
        }

        [Fact]
        public async Task A_log_too_big_for_one_answer_is_streamed_through_the_tail_and_kept()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            var logs = RayTestSupport.NewTempDir();
            var notes = new ConcurrentQueue<string>();
            // 16 bytes: every log of the fixture experiment is bigger, so GET /logs refuses it unread.
            using var backend = await RayTestSupport.ConnectAsync(standIn, Options(standIn, logs, notes) with { LogFallbackMaxBytes = 16 });
            var task = await backend.SubmitAsync(RayTestSupport.Spec("big-1", new Dictionary<string, object?> { ["value"] = 7L }), RayTestSupport.SlotOptions(), default);

            var output = await backend.GetAsync(task, new CancellationTokenSource(Generous).Token);
            Assert.Equal(7, output.Metrics["value"]);
            Assert.Equal(1, standIn.CountRequests("GET", p => p == "/api/jobs/big-1/logs/tail"));
            var kept = File.ReadAllText(Path.Combine(logs, "big-1", "run.log"));
            Assert.Contains("\"value\": 7", kept);
            Assert.Contains(notes, n => n.Contains("reading it through the log tail instead"));
            Assert.Empty(Directory.GetFiles(Path.Combine(logs, "big-1"), "*.tmp", SearchOption.AllDirectories));
        }

        [Fact]
        public async Task A_job_is_deleted_only_after_its_result_and_log_are_in_the_store_and_its_log_reads_after_the_head_is_gone()
        {
            var home = RayTestSupport.NewTempDir();
            var notes = new ConcurrentQueue<string>();
            string runId;
            await using (var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 8 }))
            {
                var store = new FileRunStore(home);
                var backend = new RayJobsBackend(Options(standIn, null, notes) with { LogPathFor = store.LogPathFor });
                using var _ = backend;
                using var runner = await Runner.CreateAsync(backend, new RayRunnerOptions { MaxConcurrent = 2, Entrypoint = RayTestSupport.Entrypoint, Store = store });
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                var spawned = await runner.SpawnSweepAsync(Enumerable.Range(0, 4).Select(i => (object)new Dictionary<string, object?> { ["value"] = (long)i }).ToList(), new RunRequest(), cts.Token);
                foreach (var s in spawned) Assert.Equal(RunStatus.Completed, (await runner.GetResultAsync(s.RunId, cts.Token)).Status);
                runId = spawned[3].RunId;

                // Every job leaves the head once saved: nothing is left behind, and nothing was deleted unsaved.
                var left = await RayTestSupport.EventuallyAsync(() => Task.FromResult(standIn.AllJobs().Count(j => j.SubmissionId != null && spawned.Any(s => s.RunId == j.SubmissionId))), n => n == 0, Generous);
                Assert.Equal(0, left);
                // The head drops a job before its answer reaches the janitor: let the deletes finish before counting them.
                Assert.Equal(0, await backend.Janitor.DrainAsync(Generous, default));
                Assert.Equal(4, backend.Janitor.Deleted);
                foreach (var s in spawned)
                {
                    var record = store.TryLoad(s.RunId)!;
                    Assert.Equal(RunStatus.Completed, record.Result!.Status);
                    Assert.Contains($"run {s.RunId} starting", File.ReadAllText(store.LogPathFor(s.RunId)));
                }
                Assert.Contains(notes, n => n.StartsWith($"Deleted Ray job {runId}", StringComparison.Ordinal));
                // A connected read after the delete is served from the store.
                Assert.Contains("RAYRUNNER_RESULT", await runner.GetLogAsync(runId, 3, cts.Token));
            }
            // The head is gone: the stored record names a log any process can read without connecting.
            var reader = FileRunStore.OpenForReading(home);
            var file = StoredRunLog.FileOf(reader.TryLoad(runId)!);
            Assert.NotNull(file);
            Assert.Contains($"run {runId} starting", File.ReadAllText(file!));
        }

        [Fact]
        public async Task KeepJobs_leaves_jobs_on_the_head_and_a_running_job_is_never_deleted()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            var logs = RayTestSupport.NewTempDir();
            using (var backend = await RayTestSupport.ConnectAsync(standIn, Options(standIn, logs, keepJobs: true)))
            {
                var task = await backend.SubmitAsync(RayTestSupport.Spec("keep-1"), new TaskOptions(), default);
                await backend.GetAsync(task, new CancellationTokenSource(Generous).Token);
                backend.Abilities.ResultStored!(task);
                await Task.Delay(300); // nothing is started to wait for: KeepJobs returns at once
                Assert.NotNull(standIn.Job("keep-1"));
            }

            using var deleting = await RayTestSupport.ConnectAsync(standIn, Options(standIn, logs));
            var slow = await deleting.SubmitAsync(RayTestSupport.Spec("slow-1", new Dictionary<string, object?> { ["sleep"] = 5L }), new TaskOptions(), default);
            var deleted = deleting.Janitor.DeleteWhenSavedAsync("slow-1", "slow-1");
            await RayJobsBackendTests.WaitForStatus(standIn, "slow-1", "RUNNING");
            Assert.False(deleted.IsCompleted); // it waits for the end: the head refuses to delete a running job anyway
            Assert.True(await deleted.WaitAsync(Generous));
            Assert.Null(standIn.Job("slow-1"));
            Assert.Equal(0, standIn.CountRequests("DELETE", p => p.EndsWith("/slow-1", StringComparison.Ordinal)) - 1);
        }

        [Fact]
        public async Task A_failed_delete_of_an_ended_job_is_tried_again_and_shutdown_waits_for_deletes_under_way()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            var logs = RayTestSupport.NewTempDir();
            var notes = new ConcurrentQueue<string>();
            using var backend = await RayTestSupport.ConnectAsync(standIn, Options(standIn, logs, notes));
            var task = await backend.SubmitAsync(RayTestSupport.Spec("del-1"), new TaskOptions(), default);
            await backend.GetAsync(task, new CancellationTokenSource(Generous).Token);
            standIn.Faults.Once("DELETE", p => p == "/api/jobs/del-1", FaultKind.ServerError);
            backend.Abilities.ResultStored!(task);
            await backend.ShutdownAsync(new CancellationTokenSource(Generous).Token); // drains the delete
            Assert.Null(standIn.Job("del-1"));
            Assert.Equal(2, standIn.CountRequests("DELETE", p => p == "/api/jobs/del-1"));
            Assert.Contains(notes, n => n.Contains("Deleting the ended Ray job del-1 failed"));
        }

        [Fact]
        public async Task A_run_pending_too_long_is_warned_about_with_what_it_asked_and_what_is_free()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { Cpus = 4 });
            var warnings = new ConcurrentQueue<string>();
            using var backend = await RayTestSupport.ConnectAsync(standIn, Options(standIn, null, warnings: warnings, pendingAfter: TimeSpan.FromMilliseconds(300)));
            var task = await backend.SubmitAsync(RayTestSupport.Spec("big-1"), new TaskOptions { NumCpus = 8 }, default);
            await backend.WaitAsync(new[] { task }, 1, TimeSpan.Zero, default);
            var warning = await RayTestSupport.EventuallyAsync(() => Task.FromResult(warnings.FirstOrDefault(w => w.Contains("big-1"))), w => w != null, Generous);
            Assert.NotNull(warning);
            Assert.Contains("PENDING", warning);
            Assert.Contains("asked for 8 CPU", warning);
            Assert.Contains("free 4 of 4 CPU", warning);
            await Task.Delay(600);
            Assert.Single(warnings, w => w.Contains("big-1")); // once per run
            await backend.CancelAsync(task, default);
        }

        [Fact]
        public async Task The_pending_warning_names_a_custom_resource_no_node_offers()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { Cpus = 4, ExperimentSlots = 4 });
            var warnings = new ConcurrentQueue<string>();
            using var backend = await RayTestSupport.ConnectAsync(standIn, Options(standIn, null, warnings: warnings, pendingAfter: TimeSpan.FromMilliseconds(300)));
            var task = await backend.SubmitAsync(RayTestSupport.Spec("tpu-1"),
                new TaskOptions { NumCpus = 1, Resources = new Dictionary<string, double> { ["experiment_slot"] = 1, ["TPU"] = 1 } }, default);
            await backend.WaitAsync(new[] { task }, 1, TimeSpan.Zero, default);
            var warning = await RayTestSupport.EventuallyAsync(() => Task.FromResult(warnings.FirstOrDefault(w => w.Contains("tpu-1"))), w => w != null, Generous);
            Assert.NotNull(warning);
            Assert.Contains("asked for 1 CPU, 1 experiment_slot, 1 TPU", warning);
            Assert.Contains("No node offers resource TPU at all", warning);
            Assert.DoesNotContain("experiment_slot at all", warning); // the cluster has that one, only busy or free
            await backend.CancelAsync(task, default);
        }

        [Fact]
        public void Only_resources_the_cluster_lacks_entirely_are_named_and_none_when_it_does_not_report()
        {
            const string status = " 3.0/4.0 CPU\n 4.0/4.0 experiment_slot\n 0.0/0.0 accel\n";
            Assert.Equal(new[] { "TPU", "accel" }, RayPendingWarning.Absent(new[] { "experiment_slot", "TPU", "accel" }, status));
            Assert.Empty(RayPendingWarning.Absent(new[] { "TPU" }, null)); // unknown is not absent
        }

        [Fact]
        public void Free_resources_are_unknown_when_the_head_does_not_report_them()
        {
            Assert.Contains("unknown", RayPendingWarning.DescribeFree(null));
            Assert.Equal("the cluster has free 1 of 4 CPU, 0 of 2 GPU", RayPendingWarning.DescribeFree(" 3.0/4.0 CPU\n 2.0/2.0 GPU\n 0B/2.33GiB memory\n"));
        }

        [Fact]
        public async Task The_connect_probe_asks_once_more_after_one_failed_version_request()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            standIn.Faults.Once("GET", p => p == "/api/version", FaultKind.Drop);
            var notes = new ConcurrentQueue<string>();
            using var backend = new RayJobsBackend(Options(standIn, null, notes) with { NoAutoStart = true });
            await backend.InitAsync(new ClusterOptions(), default); // would be "nothing answered" without the second try
            Assert.True(backend.IsInitialized);
            Assert.Contains(notes, n => n.Contains("asking once more"));
        }

        [Fact]
        public async Task Retries_and_their_backoff_reach_the_log_sink()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            var notes = new ConcurrentQueue<string>();
            using var backend = await RayTestSupport.ConnectAsync(standIn, Options(standIn, null, notes));
            standIn.Faults.Once("GET", p => p == "/api/jobs/nosuch", FaultKind.ServerError);
            Assert.Null(await backend.Client.GetJobAsync("nosuch", default));
            Assert.Contains(notes, n => n.Contains("Retrying in") && n.Contains("try 2 of"));
        }
    }
}
