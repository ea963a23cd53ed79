using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Local;
using Xunit;

namespace RayRunner.Tests.Unit.Local
{
    public class LocalProcessBackendTests : IDisposable
    {
        readonly LocalTestBed _bed = new LocalTestBed();

        public void Dispose() => _bed.Dispose();

        // ------------------------------------------------------------------------------
        // Slots
        // ------------------------------------------------------------------------------

        // Runs beyond the slots wait in the runner's queue: the capacity tests are in LocalCapacityTests.

        [UnixFact]
        public async Task A_run_submitted_while_the_slots_are_taken_is_refused_and_nothing_of_it_is_kept()
        {
            var backend = _bed.Backend(maxConcurrent: 1);
            var holder = await _bed.Submit(backend, _bed.GatedSpec());
            var refused = _bed.GatedSpec();
            var error = await Assert.ThrowsAsync<BackendFullException>(() => backend.SubmitAsync(refused, LocalTestBed.Options(), CancellationToken.None));
            Assert.Equal(refused.RunId, error.RunId);
            Assert.Contains("no free slot", error.Message);
            Assert.False(Directory.Exists(Path.Combine(_bed.Logs, refused.RunId)), "a refused run leaves no files, so a later submission starts it");

            _bed.Open(holder.RunId);
            await LocalTestBed.Result(backend, holder);
            var accepted = await _bed.Submit(backend, refused);
            _bed.Open(refused.RunId);
            Assert.Equal(RunStatus.Completed, (await LocalTestBed.Result(backend, accepted)).Status);
            Assert.Equal(new[] { holder.RunId, refused.RunId }, _bed.Started());
        }

        [UnixFact]
        public async Task Gpu_ids_go_to_runs_through_cuda_visible_devices()
        {
            var backend = _bed.Backend(environment: new Dictionary<string, string> { ["CUDA_VISIBLE_DEVICES"] = "3,5" });
            Assert.Equal(new[] { "3", "5" }, backend.GpuIds);
            var a = await _bed.Submit(backend, _bed.GatedSpec(), LocalTestBed.Options(gpus: 1));
            var b = await _bed.Submit(backend, _bed.GatedSpec(), LocalTestBed.Options(gpus: 1));
            var cpuOnly = await _bed.Submit(backend, _bed.GatedSpec(), LocalTestBed.Options());
            var cSpec = _bed.GatedSpec();
            // No GPU left: refused (the runner keeps such a run queued, see LocalCapacityTests).
            await Assert.ThrowsAsync<BackendFullException>(() => backend.SubmitAsync(cSpec, LocalTestBed.Options(gpus: 1), CancellationToken.None));
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 3, "two GPU runs and the CPU-only run have started");

            var devices = _bed.EventLines().Where(e => e[0] == "start").ToDictionary(e => e[1], e => e.Length > 2 ? e[2] : "");
            Assert.Equal(new[] { "3", "5" }, new[] { devices[a.RunId], devices[b.RunId] }.OrderBy(x => x));
            Assert.Equal("", devices[cpuOnly.RunId]); // set, and empty: it cannot grab a GPU given to another run
            Assert.False(devices.ContainsKey(cSpec.RunId));

            _bed.Open(a.RunId);
            await LocalTestBed.Result(backend, a);
            var c = await _bed.Submit(backend, cSpec, LocalTestBed.Options(gpus: 1));
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 4, "the third GPU run has started");
            var third = _bed.EventLines().Single(e => e[0] == "start" && e[1] == c.RunId);
            Assert.Equal(devices[a.RunId], third[2]);
            foreach (var r in new[] { b, c, cpuOnly }) _bed.Open(r.RunId);
        }

        [UnixFact]
        public async Task Half_gpu_runs_share_a_device()
        {
            var backend = _bed.Backend(numGpus: 1, environment: new Dictionary<string, string>());
            var refs = new[] { await _bed.Submit(backend, _bed.GatedSpec(), LocalTestBed.Options(gpus: 0.5)), await _bed.Submit(backend, _bed.GatedSpec(), LocalTestBed.Options(gpus: 0.5)) };
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 2, "both half-GPU runs have started");
            Assert.All(_bed.EventLines(), e => Assert.Equal("0", e[2]));
            foreach (var r in refs) _bed.Open(r.RunId);
        }

        [UnixFact]
        public async Task A_run_asking_more_gpus_than_exist_fails_at_once_instead_of_waiting_forever()
        {
            var backend = _bed.Backend(numGpus: 2);
            var reference = await _bed.Submit(backend, _bed.GatedSpec(), LocalTestBed.Options(gpus: 3));
            var output = await LocalTestBed.Result(backend, reference);
            Assert.Equal(RunStatus.Failed, output.Status);
            Assert.Contains("asks for 3 GPUs but this local backend has 2", output.ErrorMessage);
            Assert.Empty(_bed.Started());
        }

        // ------------------------------------------------------------------------------
        // The experiment contract
        // ------------------------------------------------------------------------------

        [UnixFact]
        public async Task A_command_that_does_not_exist_is_a_failed_run_that_names_it()
        {
            var backend = _bed.Backend();
            var reference = await _bed.Submit(backend, LocalTestBed.Spec("rayrunner-no-such-program-4711 {overrides}", new Dictionary<string, object?> { ["lr"] = 0.1 }));
            var output = await LocalTestBed.Result(backend, reference);
            Assert.Equal(RunStatus.Failed, output.Status);
            Assert.Contains("'rayrunner-no-such-program-4711' was not found on PATH", output.ErrorMessage);
            Assert.Contains("was not found", await backend.ReadLogAsync(reference, null, CancellationToken.None));

            var relative = await _bed.Submit(backend, LocalTestBed.Spec("./missing-script.sh", workingDirectory: _bed.Root));
            var second = await LocalTestBed.Result(backend, relative);
            Assert.Equal(RunStatus.Failed, second.Status);
            Assert.Contains("there is no such file", second.ErrorMessage);
            Assert.Contains(Path.Combine(_bed.Root, "missing-script.sh"), second.ErrorMessage);
        }

        [UnixFact]
        public async Task A_missing_working_directory_is_a_failed_run_that_says_so()
        {
            var backend = _bed.Backend();
            var reference = await _bed.Submit(backend, LocalTestBed.Spec("sh -c true", workingDirectory: _bed.PathOf("nope")));
            var output = await LocalTestBed.Result(backend, reference);
            Assert.Equal(RunStatus.Failed, output.Status);
            Assert.Contains("working directory", output.ErrorMessage);
            Assert.Contains("does not exist", output.ErrorMessage);
        }

        public static IEnumerable<object[]> LaunchModes() => new[]
        {
            new object[] { "Detached", false },
            new object[] { "Piped", false },
            new object[] { "Detached", true },
        };

        [UnixTheory]
        [MemberData(nameof(LaunchModes))]
        public async Task A_config_value_full_of_shell_metacharacters_reaches_the_child_intact_and_runs_nothing(string mode, bool useShell)
        {
            var pwned = new[] { "pwned1", "pwned2", "pwned3", "pwned4" }.Select(_bed.PathOf).ToArray();
            var payload =
                $"$(touch {pwned[0]}) `touch {pwned[1]}`; touch {pwned[2]} && touch {pwned[3]} | cat > /dev/null\n" +
                "second line\t'single' \"double\" \\back\\slash\\ trailing\\ %PATH% !x! ${HOME} * ? ~ <in >out 2>&1 & {braces} ü";
            var dump = _bed.Script("dump.py",
                "import json, os, sys\n" +
                "with open(os.environ['OUT'], 'w', encoding='utf-8') as f:\n" +
                "    json.dump({'argv': sys.argv[1:], 'input': json.loads(os.environ['RAYRUNNER_TASK_INPUT']), 'cwd': os.getcwd()}, f)\n");
            var outFile = _bed.PathOf("argv.json");
            var spec = LocalTestBed.Spec($"python3 {dump} {{overrides}} {{config_json}} --id={{run_id}}",
                new Dictionary<string, object?> { ["payload"] = payload, ["nested"] = new Dictionary<string, object?> { ["lr"] = 0.1 } },
                useShell: useShell, workingDirectory: _bed.Root,
                environment: new Dictionary<string, string> { ["OUT"] = outFile });

            var backend = _bed.Backend(mode: Enum.Parse<LaunchMode>(mode));
            var output = await LocalTestBed.Result(backend, await _bed.Submit(backend, spec));
            Assert.True(output.Status == RunStatus.Completed, output.ErrorMessage);

            using var doc = JsonDocument.Parse(File.ReadAllText(outFile));
            var argv = doc.RootElement.GetProperty("argv").EnumerateArray().Select(a => a.GetString()).ToList();
            Assert.Equal(spec.Arguments().Skip(2), argv);
            Assert.Contains(argv, a => a == "payload=" + HydraOverrides.FormatValue(payload));
            Assert.Equal(payload, JsonDocument.Parse(argv[^2]!).RootElement.GetProperty("payload").GetString());
            Assert.Equal(payload, doc.RootElement.GetProperty("input").GetProperty("config").GetProperty("payload").GetString());
            Assert.Equal(Path.GetFullPath(_bed.Root), doc.RootElement.GetProperty("cwd").GetString());
            Assert.All(pwned, p => Assert.False(File.Exists(p), "the shell ran part of a config value: " + p));
        }

        [UnixFact]
        public async Task The_shell_option_lets_the_entrypoint_use_shell_syntax()
        {
            var backend = _bed.Backend();
            var spec = LocalTestBed.Spec("echo {run_id} | tr a-z A-Z > upper.txt && echo RAYRUNNER_RESULT '{{\"metrics\": {{\"ok\": 1}}}}'",
                runId: "shell-run", useShell: true, workingDirectory: _bed.Root);
            var output = await LocalTestBed.Result(backend, await _bed.Submit(backend, spec));
            Assert.Equal(RunStatus.Completed, output.Status);
            Assert.Equal(1.0, output.Metrics["ok"]);
            Assert.Equal("SHELL-RUN", File.ReadAllText(_bed.PathOf("upper.txt")).Trim());
        }

        [UnixTheory]
        [InlineData("Detached")]
        [InlineData("Piped")]
        public async Task The_result_line_is_read_from_noisy_stdout_and_stderr_and_the_last_good_one_wins(string mode)
        {
            var script = _bed.Script("noisy.sh",
                "echo 'loading data...'\n" +
                "echo 'RAYRUNNER_RESULT {\"metrics\": {\"loss\": 9}}'\n" +
                "echo 'warning: something on stderr' >&2\n" +
                "echo 'RAYRUNNER_RESULT {\"status\": \"completed\", \"metrics\": {\"loss\": 0.25, \"acc\": 0.9}, \"checkpoint_uri\": \"file:///ckpt\"}'\n" +
                "echo 'RAYRUNNER_RESULT {\"metrics\": {\"loss\": ' >&2\n" +
                "printf 'progress 100%%\\r\\n'\n");
            var backend = _bed.Backend(mode: Enum.Parse<LaunchMode>(mode));
            var reference = await _bed.Submit(backend, LocalTestBed.Spec("sh " + script));
            var output = await LocalTestBed.Result(backend, reference);

            Assert.Equal(RunStatus.Completed, output.Status);
            Assert.Equal(0.25, output.Metrics["loss"]);
            Assert.Equal(0.9, output.Metrics["acc"]);
            Assert.Equal("file:///ckpt", output.CheckpointUri);
            Assert.NotNull(output.StartedAt);
            Assert.True(output.CompletedAt >= output.StartedAt);

            var log = await backend.ReadLogAsync(reference, null, CancellationToken.None);
            Assert.Contains("loading data...", log);
            Assert.Contains("warning: something on stderr", log);
            var lastLine = await backend.ReadLogAsync(reference, 1, CancellationToken.None);
            Assert.Equal(log.TrimEnd('\n').Split('\n')[^1].TrimEnd('\r'), lastLine);
            // One file descriptor for both streams keeps their order; two pipes (Windows) cannot.
            if (mode == "Detached") Assert.Equal("progress 100%", lastLine);
        }

        [UnixFact]
        public async Task Without_a_result_line_the_exit_code_decides_and_metrics_stay_empty()
        {
            var backend = _bed.Backend();
            var ok = await LocalTestBed.Result(backend, await _bed.Submit(backend, LocalTestBed.Spec("sh -c 'echo hi'")));
            Assert.Equal(RunStatus.Completed, ok.Status);
            Assert.Empty(ok.Metrics);
            Assert.Null(ok.ErrorMessage);

            var script = _bed.Script("fail.sh", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo \"line $i\"; done\necho 'Traceback: boom' >&2\nexit 3\n");
            var failed = await LocalTestBed.Result(backend, await _bed.Submit(backend, LocalTestBed.Spec("sh " + script)));
            Assert.Equal(RunStatus.Failed, failed.Status);
            Assert.Contains("sh exited with code 3", failed.ErrorMessage);
            Assert.Contains("Traceback: boom", failed.ErrorMessage);
            Assert.Contains("line 12", failed.ErrorMessage);
            Assert.DoesNotContain("line 2\n", failed.ErrorMessage); // only the last lines
        }

        [UnixFact]
        public async Task A_non_zero_exit_fails_the_run_even_after_a_completed_result_line_but_keeps_its_metrics()
        {
            var backend = _bed.Backend();
            var output = await LocalTestBed.Result(backend, await _bed.Submit(backend,
                _bed.ResultSpec("{\"status\": \"completed\", \"metrics\": {\"loss\": 1.5}}", exitCode: 2)));
            Assert.Equal(RunStatus.Failed, output.Status);
            Assert.Equal(1.5, output.Metrics["loss"]);
            Assert.Contains("exited with code 2", output.ErrorMessage);
        }

        [UnixFact]
        public async Task An_experiment_may_report_its_own_failure_with_exit_code_zero()
        {
            var backend = _bed.Backend();
            var output = await LocalTestBed.Result(backend, await _bed.Submit(backend,
                _bed.ResultSpec("{\"status\": \"failed\", \"error_message\": \"diverged\"}")));
            Assert.Equal(RunStatus.Failed, output.Status);
            Assert.Equal("diverged", output.ErrorMessage);
        }

        [UnixFact]
        public async Task The_run_sees_the_contract_environment_and_its_own_variables()
        {
            var backend = _bed.Backend();
            var script = _bed.Script("env.sh", "printf '%s|%s|%s\\n' \"$RAYRUNNER_RUN_ID\" \"$MY_VAR\" \"$RAYRUNNER_TASK_INPUT\" > \"$OUT\"\n");
            var spec = LocalTestBed.Spec("sh " + script, new Dictionary<string, object?> { ["lr"] = 0.5 }, runId: "env-run",
                environment: new Dictionary<string, string> { ["MY_VAR"] = "mine", ["OUT"] = _bed.PathOf("env.txt") });
            Assert.Equal(RunStatus.Completed, (await LocalTestBed.Result(backend, await _bed.Submit(backend, spec))).Status);
            var parts = File.ReadAllText(_bed.PathOf("env.txt")).Trim().Split('|');
            Assert.Equal("env-run", parts[0]);
            Assert.Equal("mine", parts[1]);
            var input = RayRunnerJson.Deserialize<TaskInput>(parts[2])!;
            Assert.Equal("env-run", input.RunId);
            Assert.Equal(0.5, input.Config["lr"]);
        }

        [UnixFact]
        public async Task Submitting_the_same_run_twice_starts_it_once()
        {
            var backend = _bed.Backend();
            var spec = _bed.GatedSpec();
            var first = await _bed.Submit(backend, spec);
            var second = await _bed.Submit(backend, spec);
            Assert.Equal(first, second);
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 1, "the run has started");
            _bed.Open(spec.RunId);
            await LocalTestBed.Result(backend, first);
            Assert.Single(_bed.Started());

            // A new backend instance over the same folder (a new session) does not start it again either.
            var again = await _bed.Submit(_bed.Backend(), spec);
            Assert.Equal(RunStatus.Completed, (await LocalTestBed.Result(_bed.Backend(), again)).Status);
            Assert.Single(_bed.Started());
        }

        // ------------------------------------------------------------------------------
        // Cancel and timeout end the whole tree
        // ------------------------------------------------------------------------------

        /// <summary>A run whose command starts a sleeping grandchild, writes its pid, and waits for it.</summary>
        TaskSpec TreeSpec(string grandchildPidFile, bool orphan = false)
        {
            var body = orphan
                // The grandchild's parent (a subshell) exits at once: it is re-parented away from the tree.
                ? "( sleep 300 & echo $! > \"$GRANDCHILD\" )\nsleep 300\n"
                : "sleep 300 &\necho $! > \"$GRANDCHILD\"\nwait\n";
            var script = _bed.Script(orphan ? "orphan.sh" : "tree.sh", body);
            return LocalTestBed.Spec("sh " + script, environment: new Dictionary<string, string> { ["GRANDCHILD"] = grandchildPidFile });
        }

        async Task<int> GrandchildOf(string pidFile)
        {
            await LocalTestBed.WaitUntil(() => File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0, "the grandchild has written its pid");
            var pid = LocalTestBed.ReadPid(pidFile);
            Assert.True(LocalTestBed.IsAlive(pid));
            return pid;
        }

        [LinuxFact]
        public async Task Cancel_kills_the_grandchildren_too()
        {
            var backend = _bed.Backend();
            var pidFile = _bed.PathOf("grandchild.pid");
            var reference = await _bed.Submit(backend, TreeSpec(pidFile));
            var grandchild = await GrandchildOf(pidFile);

            await backend.CancelAsync(reference, CancellationToken.None);

            var output = await LocalTestBed.Result(backend, reference);
            Assert.Equal(RunStatus.Cancelled, output.Status);
            await LocalTestBed.WaitUntil(() => !LocalTestBed.IsAlive(grandchild), "the grandchild is gone");
            Assert.Empty(LocalTestBed.LiveRunIds(new[] { reference.RunId }));
            await backend.CancelAsync(reference, CancellationToken.None); // safe to repeat
            Assert.Equal(0, backend.RunningCount);
        }

        [LinuxFact]
        public async Task Cancel_kills_descendants_whose_parent_already_exited()
        {
            Assert.True(File.Exists("/usr/bin/setsid") || File.Exists("/bin/setsid"), "this machine has setsid");
            var backend = _bed.Backend();
            var pidFile = _bed.PathOf("orphan.pid");
            var reference = await _bed.Submit(backend, TreeSpec(pidFile, orphan: true));
            var orphan = await GrandchildOf(pidFile);

            await backend.CancelAsync(reference, CancellationToken.None);
            await LocalTestBed.WaitUntil(() => !LocalTestBed.IsAlive(orphan), "the orphaned grandchild is gone");
            Assert.Empty(LocalTestBed.LiveRunIds(new[] { reference.RunId })); // nor any other process of the run
        }

        [LinuxFact]
        public async Task Cancel_kills_the_grandchildren_with_the_pipe_launcher_too()
        {
            var backend = _bed.Backend(mode: LaunchMode.Piped);
            var pidFile = _bed.PathOf("piped.pid");
            var reference = await _bed.Submit(backend, TreeSpec(pidFile));
            var grandchild = await GrandchildOf(pidFile);
            await backend.CancelAsync(reference, CancellationToken.None);
            Assert.Equal(RunStatus.Cancelled, (await LocalTestBed.Result(backend, reference)).Status);
            await LocalTestBed.WaitUntil(() => !LocalTestBed.IsAlive(grandchild), "the grandchild is gone");
        }

        [UnixFact]
        public async Task Shutdown_leaves_started_runs_running()
        {
            var backend = _bed.Backend(maxConcurrent: 1);
            var running = await _bed.Submit(backend, _bed.GatedSpec());
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 1, "the first run has started");
            await backend.ShutdownAsync(CancellationToken.None);
            Assert.False(backend.IsInitialized);

            Assert.False((await backend.WaitAsync(new[] { running }, 1, TimeSpan.Zero, CancellationToken.None)).Ready.Any());
            _bed.Open(running.RunId);
            Assert.Equal(RunStatus.Completed, (await LocalTestBed.Result(backend, running)).Status);
        }

        [UnixFact]
        public async Task Wait_returns_when_enough_runs_are_ready_or_the_timeout_passes()
        {
            var backend = _bed.Backend();
            var quick = await _bed.Submit(backend, LocalTestBed.Spec("sh -c true"));
            var slow = await _bed.Submit(backend, _bed.GatedSpec());

            var one = await backend.WaitAsync(new[] { quick, slow }, 1, null, CancellationToken.None);
            Assert.Equal(new[] { quick }, one.Ready);
            Assert.Equal(new[] { slow }, one.NotReady);

            var timedOut = await backend.WaitAsync(new[] { quick, slow }, 2, TimeSpan.FromMilliseconds(50), CancellationToken.None);
            Assert.Single(timedOut.Ready);

            using var cts = new CancellationTokenSource();
            var waiting = backend.WaitAsync(new[] { slow }, 1, null, cts.Token);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
            _bed.Open(slow.RunId);
        }

        [Fact]
        public async Task A_reference_of_another_backend_is_refused_with_a_clear_error()
        {
            var backend = _bed.Backend();
            var ex = await Assert.ThrowsAsync<ArgumentException>(() => backend.GetAsync(new TaskRef("ray", "abc"), CancellationToken.None));
            Assert.Contains("'ray' backend", ex.Message);
            var noLocator = await Assert.ThrowsAsync<ArgumentException>(() => backend.GetAsync(new TaskRef("local", "abc"), CancellationToken.None));
            Assert.Contains("no locator", noLocator.Message);
        }

        [Fact]
        public async Task A_run_id_that_could_climb_out_of_its_folder_is_refused()
        {
            var backend = _bed.Backend();
            var spec = new TaskSpec(new TaskInput(new Dictionary<string, object?>(), "../escape"), EntrypointTemplate.Parse("sh -c true"));
            await Assert.ThrowsAsync<ArgumentException>(() => backend.SubmitAsync(spec, new TaskOptions(), CancellationToken.None));
            Assert.False(Directory.Exists(Path.Combine(_bed.Root, "escape")));
        }

        [Fact]
        public void Bad_options_are_refused_with_what_to_give_instead()
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new LocalProcessBackend(new LocalBackendOptions { MaxConcurrent = 0 }));
            Assert.Contains("at least 1", ex.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => new LocalProcessBackend(new LocalBackendOptions { NumGpus = -1 }));
        }
    }
}
