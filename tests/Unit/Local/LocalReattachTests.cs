using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Local;
using Xunit;

namespace RayRunner.Tests.Unit.Local
{
    /// <summary>
    /// Runs outlive the session: a run started by one backend instance (one PowerShell session) is
    /// followed, stopped and collected by another, through nothing but its TaskRef.
    /// </summary>
    public class LocalReattachTests : IDisposable
    {
        readonly LocalTestBed _bed = new LocalTestBed();

        public void Dispose() => _bed.Dispose();

        [UnixFact]
        public async Task The_locator_carries_what_another_process_needs()
        {
            var backend = _bed.Backend();
            var reference = await _bed.Submit(backend, _bed.GatedSpec());
            var locator = reference.Locator;
            Assert.Equal("local", reference.Backend);
            Assert.Equal(Path.Combine(_bed.Logs, reference.RunId, "run.log"), locator["log"]);
            Assert.Equal(Path.Combine(_bed.Logs, reference.RunId, "run.exit"), locator["exit_file"]);
            Assert.Equal(Path.Combine(_bed.Logs, reference.RunId, "run.pid"), locator["pid_file"]);
            Assert.True(int.Parse(locator["pid"]) > 0);
            Assert.False(string.IsNullOrEmpty(locator["process_start"]));
            Assert.Equal(Environment.ProcessId.ToString(), locator["host_pid"]);
            Assert.Equal("sh", locator["program"]);
            _bed.Open(reference.RunId);
        }

        [LinuxFact]
        public async Task A_started_run_holds_no_pipe_to_its_host_and_leads_its_own_session()
        {
            var backend = _bed.Backend();
            var reference = await _bed.Submit(backend, _bed.GatedSpec());
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 1, "the run has started");
            var pid = int.Parse(reference.Locator["pid"]);

            // stdout and stderr are the log file itself: the host can die without the run getting a broken pipe.
            Assert.Equal(reference.Locator["log"], new FileInfo($"/proc/{pid}/fd/1").LinkTarget);
            Assert.Equal(reference.Locator["log"], new FileInfo($"/proc/{pid}/fd/2").LinkTarget);
            Assert.Equal("/dev/null", new FileInfo($"/proc/{pid}/fd/0").LinkTarget);
            // Its own session: a Ctrl+C or a closed terminal aimed at the host does not reach it.
            Assert.Equal(pid, ProcStat.Read(pid)!.SessionId);
            _bed.Open(reference.RunId);
        }

        [UnixFact]
        public async Task Another_backend_instance_follows_a_run_to_its_result()
        {
            var owner = _bed.Backend();
            var reference = await _bed.Submit(owner, _bed.GatedSpec());
            var other = _bed.Backend();

            var poll = await other.WaitAsync(new[] { reference }, 1, TimeSpan.Zero, CancellationToken.None);
            Assert.Empty(poll.Ready);
            await LocalTestBed.WaitUntil(() => _bed.Started().Count == 1, "the run has started");
            Assert.Equal(RunStatus.Running, (await other.WaitAsync(new[] { reference }, 1, TimeSpan.Zero, CancellationToken.None)).PhaseOf(reference));

            _bed.Open(reference.RunId);
            var output = await LocalTestBed.Result(other, reference);
            Assert.Equal(RunStatus.Completed, output.Status);
            Assert.Equal(1.0, output.Metrics["gate"]);
            Assert.NotNull(output.StartedAt);
            Assert.Contains("RAYRUNNER_RESULT", await other.ReadLogAsync(reference, 1, CancellationToken.None));
        }

        [LinuxFact]
        public async Task Another_backend_instance_can_stop_a_run_and_its_whole_tree()
        {
            var owner = _bed.Backend();
            var pidFile = _bed.PathOf("grandchild.pid");
            var script = _bed.Script("tree.sh", "sleep 300 &\necho $! > \"$GRANDCHILD\"\nwait\n");
            var reference = await _bed.Submit(owner, LocalTestBed.Spec("sh " + script, environment: new Dictionary<string, string> { ["GRANDCHILD"] = pidFile }));
            await LocalTestBed.WaitUntil(() => File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0, "the grandchild has written its pid");
            var grandchild = LocalTestBed.ReadPid(pidFile);

            var other = _bed.Backend();
            await other.CancelAsync(reference, CancellationToken.None);

            Assert.Equal(RunStatus.Cancelled, (await LocalTestBed.Result(other, reference)).Status);
            Assert.Equal(RunStatus.Cancelled, (await LocalTestBed.Result(owner, reference)).Status); // the owner sees a cancel, not a signal
            await LocalTestBed.WaitUntil(() => !LocalTestBed.IsAlive(grandchild), "the grandchild is gone");
        }

        // A_run_cancelled_elsewhere_while_waiting_for_a_slot_never_starts: runs wait in the runner's
        // queue now, so it moved to LocalCapacityTests.

        /// <summary>A pid that is certainly not running: a process that has already exited and been reaped.</summary>
        static int DeadPid()
        {
            using var p = Process.Start(new ProcessStartInfo("sh", "-c true") { UseShellExecute = false })!;
            p.WaitForExit();
            return p.Id;
        }

        TaskRef Foreign(string runId, int? pid, int hostPid)
        {
            var dir = Path.Combine(_bed.Logs, runId);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "run.log"), "epoch 1/5 loss=0.3\nepoch 2/5 loss=0.2\n");
            var locator = new Dictionary<string, string>
            {
                ["log"] = Path.Combine(dir, "run.log"),
                ["exit_file"] = Path.Combine(dir, "run.exit"),
                ["pid_file"] = Path.Combine(dir, "run.pid"),
                ["cancel_file"] = Path.Combine(dir, "run.cancel"),
                ["host_pid"] = hostPid.ToString(),
                ["host_start"] = "linux:gone:1",
                ["mode"] = "detached",
                ["program"] = "python3",
            };
            if (pid.HasValue)
                File.WriteAllText(Path.Combine(dir, "run.pid"), $"{pid.Value} linux:gone:2 {DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds()}\n");
            return new TaskRef("local", runId, locator);
        }

        [UnixFact]
        public async Task A_run_whose_process_died_with_its_host_without_an_exit_code_is_failed_and_says_so()
        {
            var dead = DeadPid();
            var reference = Foreign("died-with-host", dead, hostPid: dead);
            var output = await LocalTestBed.Result(_bed.Backend(), reference);
            Assert.Equal(RunStatus.Failed, output.Status);
            Assert.Contains("died with its host", output.ErrorMessage);
            Assert.Contains("epoch 2/5 loss=0.2", output.ErrorMessage);
        }

        [UnixFact]
        public async Task A_run_still_waiting_for_a_slot_when_its_host_died_is_failed_and_says_so()
        {
            var dead = DeadPid();
            var output = await LocalTestBed.Result(_bed.Backend(), Foreign("never-started", pid: null, hostPid: dead));
            Assert.Equal(RunStatus.Failed, output.Status);
            Assert.Contains("never started", output.ErrorMessage);
            Assert.Contains("died with its host", output.ErrorMessage);
        }

        [UnixFact]
        public async Task A_run_that_recorded_its_exit_code_is_collected_after_its_host_died()
        {
            var dead = DeadPid();
            var reference = Foreign("finished-alone", dead, hostPid: dead);
            File.AppendAllText(reference.Locator["log"], "RAYRUNNER_RESULT {\"metrics\": {\"loss\": 0.125}}\n");
            File.WriteAllText(reference.Locator["exit_file"], "0\n");
            var output = await LocalTestBed.Result(_bed.Backend(), reference);
            Assert.Equal(RunStatus.Completed, output.Status);
            Assert.Equal(0.125, output.Metrics["loss"]);
            Assert.True(output.DurationSeconds > 0);
        }

        [UnixFact]
        public async Task A_pid_reused_by_an_unrelated_process_is_not_mistaken_for_the_run()
        {
            // This test process is alive, but it is not the process recorded (another start time).
            var reference = Foreign("pid-reused", Environment.ProcessId, hostPid: DeadPid());
            var output = await LocalTestBed.Result(_bed.Backend(), reference);
            Assert.Equal(RunStatus.Failed, output.Status);
            Assert.Contains("died with its host", output.ErrorMessage);
        }
    }
}
