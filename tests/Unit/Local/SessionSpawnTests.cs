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
    /// The Linux launcher that starts a detached run straight into a new session with posix_spawn
    /// (issue 14: no setsid exec per run). What a run may rely on is what Process.Start and setsid
    /// gave it: a session of its own, default signal handling, no descriptor of the host's, an exit
    /// code for a trampoline killed from outside; and the host's other children keep theirs.
    /// </summary>
    public sealed class SessionSpawnTests : IDisposable
    {
        readonly LocalTestBed _bed = new LocalTestBed();

        public void Dispose() => _bed.Dispose();

        [LinuxFact]
        public void Detached_runs_on_linux_are_spawned_into_their_own_session_without_setsid()
        {
            Assert.True(SessionSpawn.IsSupported, "posix_spawn with POSIX_SPAWN_SETSID and addchdir_np works on this Linux");
            var files = RunFiles.ForLog(_bed.PathOf("plan.log"));
            var plan = ProcessLauncher.Plan(LocalTestBed.Spec("true"), null, files, LaunchMode.Detached, Environment.GetEnvironmentVariable, out var error);
            Assert.Null(error);
            Assert.NotNull(plan!.SpawnArgv);
            Assert.Equal("/bin/sh", plan.SpawnArgv![0]);
            Assert.DoesNotContain(plan.SpawnArgv, a => a.EndsWith("/setsid", StringComparison.Ordinal));
            Assert.True(plan.SessionLeader);
        }

        [LinuxFact]
        public async Task The_run_leads_a_session_and_its_command_holds_no_host_descriptor_and_default_signals()
        {
            var backend = _bed.Backend();
            var probe = _bed.Script("probe.sh",
                "cat /proc/$PPID/stat > \"$OUT.root\"\n" +
                "ls -l /proc/$$/fd > \"$OUT.fd\"\n" +
                "grep -E '^Sig(Ign|Blk):' /proc/self/status > \"$OUT.sig\"\n");
            var output = _bed.PathOf("probe");
            var reference = await _bed.Submit(backend, LocalTestBed.Spec("sh " + probe,
                environment: new Dictionary<string, string> { ["OUT"] = output }));
            Assert.Equal(RunStatus.Completed, (await LocalTestBed.Result(backend, reference)).Status);

            // The trampoline (the command's parent) leads its own session: pid == session id.
            var root = File.ReadAllText(output + ".root");
            var fields = root.Substring(root.LastIndexOf(')') + 2).Split(' ');
            var rootPid = root.Substring(0, root.IndexOf(' '));
            Assert.Equal(rootPid, fields[3]); // field 6 of /proc/pid/stat: the session id

            // Listed by ls from outside (a glob would open the folder as fd 3 in the shell itself).
            // stdin, stdout and stderr only (the shell keeps its own at 10 and up): the end-of-run
            // pipe (fd 3) stays with the trampoline, so a command's background children cannot keep
            // its slot taken. (Descriptors the host itself inherited without close-on-exec, as a test
            // runner's, pass to every child, as with Process.Start; they are not checked here.)
            var fds = File.ReadAllLines(output + ".fd").Where(l => l.Contains(" -> "))
                .Select(l => l.Substring(l.LastIndexOf(' ', l.IndexOf(" -> ", StringComparison.Ordinal) - 1) + 1).Split(new[] { " -> " }, StringSplitOptions.None)).ToList();
            Assert.Equal(new[] { "0", "1", "2" }, fds.Select(f => f[0]).Where(n => int.Parse(n, System.Globalization.CultureInfo.InvariantCulture) < 10));

            // Nothing ignored or blocked in what the command inherits (grep reads its own status: a
            // shell waiting for a child blocks every signal meanwhile, so its $$ would race): the
            // runtime ignores SIGPIPE, and a run must not inherit that.
            var signals = File.ReadAllLines(output + ".sig");
            Assert.Contains(signals, l => l.StartsWith("SigIgn:", StringComparison.Ordinal) && l.EndsWith("0000000000000000", StringComparison.Ordinal));
            Assert.Contains(signals, l => l.StartsWith("SigBlk:", StringComparison.Ordinal) && l.EndsWith("0000000000000000", StringComparison.Ordinal));
        }

        [LinuxFact]
        public async Task A_trampoline_killed_from_outside_ends_the_run_with_the_signal_exit_code()
        {
            var backend = _bed.Backend();
            var reference = await _bed.Submit(backend, _bed.GatedSpec());
            string? pidFile = null;
            await LocalTestBed.WaitUntil(() => _bed.Started().Contains(reference.RunId) && (pidFile = PidFileOf(reference.RunId)) != null, "the run has started");
            var root = int.Parse(File.ReadAllLines(pidFile!)[0].Split(' ')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture);

            using (var kill = Process.Start("kill", "-KILL " + root)) kill!.WaitForExit();
            var output = await LocalTestBed.Result(backend, reference);
            _bed.Open(reference.RunId); // lets the orphaned command finish

            Assert.Equal(RunStatus.Failed, output.Status);
            Assert.Contains("code 137", output.ErrorMessage); // 128 + SIGKILL, read by waitpid: no exit file was written
        }

        [LinuxFact]
        public async Task Host_children_started_through_Process_keep_their_exit_codes_while_runs_end()
        {
            // Runs are reaped by pid; a waitpid(-1) would steal the children of Process (pwsh's
            // native commands) and their exit codes with them.
            var backend = _bed.Backend(maxConcurrent: 4);
            var runs = new List<Task<TaskOutput>>();
            for (var i = 0; i < 20; i++)
                runs.Add(LocalTestBed.Result(backend, await SubmitWhenFree(backend, LocalTestBed.Spec("true"))));

            var codes = new List<int>();
            for (var i = 0; i < 20; i++)
            {
                using var child = Process.Start(new ProcessStartInfo("/bin/sh", "-c \"exit 7\"") { UseShellExecute = false })!;
                Assert.True(child.WaitForExit(60_000), "the host's own child ended");
                codes.Add(child.ExitCode);
            }
            Assert.All(codes, c => Assert.Equal(7, c));
            Assert.All(await Task.WhenAll(runs), o => Assert.Equal(RunStatus.Completed, o.Status));
        }

        string? PidFileOf(string runId) =>
            Directory.EnumerateFiles(_bed.Logs, "*.pid", SearchOption.AllDirectories).FirstOrDefault(f => f.Contains(runId));

        async Task<TaskRef> SubmitWhenFree(IRayBackend backend, TaskSpec spec)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                try { return await _bed.Submit(backend, spec); }
                catch (BackendFullException) when (DateTime.UtcNow < deadline) { await Task.Delay(5); }
            }
        }
    }
}
