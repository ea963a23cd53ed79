using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Local;
using Xunit;

namespace RayRunner.Tests.Unit.Local
{
    /// <summary>
    /// Of two launches of one run (a host that died right after starting it, and a process that
    /// took the run over), only the one that claims the run runs the command; the other follows it.
    /// </summary>
    public class RunClaimTests : IDisposable
    {
        readonly LocalTestBed _bed = new LocalTestBed();

        public void Dispose() => _bed.Dispose();

        static int RunTrampoline(RunFiles files, string counter)
        {
            var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            foreach (var arg in new[] { "-c", ProcessLauncher.Trampoline, ProcessLauncher.TrampolineName, files.Log, files.Exit, files.Started,
                                        "/bin/sh", "-c", "echo ran >> \"$0\"", counter })
                psi.ArgumentList.Add(arg);
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            return p.ExitCode;
        }

        [UnixFact]
        public void A_second_launch_of_a_claimed_run_runs_nothing()
        {
            var files = RunFiles.ForLog(_bed.PathOf("claimed.log"));
            files.Prepare();
            var counter = _bed.PathOf("counter.txt");

            var first = RunTrampoline(files, counter);
            var firstClaim = files.ReadStartedPid();
            var second = RunTrampoline(files, counter);

            Assert.Equal(0, first);
            Assert.NotNull(firstClaim);
            Assert.Equal(ProcessLauncher.LostClaimExitCode, second);
            Assert.Equal(new[] { "ran" }, File.ReadAllLines(counter));
            Assert.Equal(firstClaim, files.ReadStartedPid());
            Assert.Equal(0, files.ReadExit()!.Code);
        }

        /// <summary>
        /// A backend whose launch of "late" is beaten by another launch: <paramref name="claimFirst"/>
        /// runs after the backend accepted the run and just before it starts the process (the
        /// window in which two processes that both took the run over race), given the run's files.
        /// </summary>
        LocalProcessBackend RacedBackend(Action<RunFiles> claimFirst)
        {
            return _bed.Backend(beforeLaunch: runId =>
            {
                if (runId == "late") claimFirst(RunFiles.ForLog(Path.Combine(_bed.Logs, runId, "run.log")));
            });
        }

        [UnixFact]
        public async Task A_launch_that_loses_the_claim_follows_the_winner_to_its_result()
        {
            Process? winner = null;
            RunFiles? files = null;
            var backend = RacedBackend(runFiles =>
            {
                files = runFiles;
                // Another launch of "late" claims it first and reports a result of its own.
                winner = Process.Start(new ProcessStartInfo("/bin/sh")
                {
                    UseShellExecute = false,
                    ArgumentList =
                    {
                        "-c", "sleep 1; echo 'RAYRUNNER_RESULT {\"metrics\": {\"won\": 1}}' >> \"$0\"; printf '0\\n' > \"$1\"",
                        runFiles.Log, runFiles.Exit,
                    },
                })!;
                File.WriteAllText(runFiles.Started, winner.Id + "\n");
            });
            var late = await _bed.Submit(backend, _bed.GatedSpec("late"));

            var output = await LocalTestBed.Result(backend, late);
            winner!.WaitForExit();

            Assert.Equal(RunStatus.Completed, output.Status);
            Assert.Equal(1.0, output.Metrics["won"]);
            Assert.DoesNotContain("late", _bed.Started()); // its own command never ran
            Assert.Equal(winner.Id, files!.ReadPid()!.ProcessId); // followers are pointed at the winner
            winner.Dispose();
        }

        [UnixFact]
        public async Task A_launch_that_loses_the_claim_to_a_winner_that_already_finished_still_points_at_the_winner()
        {
            // The slow-host case of the test above: the other launch ran and wrote its exit file before
            // this backend started "late". Its result and its pid file must still be the winner's.
            var winnerId = 0;
            RunFiles? files = null;
            var backend = RacedBackend(runFiles =>
            {
                files = runFiles;
                using var winner = Process.Start(new ProcessStartInfo("/bin/sh")
                {
                    UseShellExecute = false,
                    ArgumentList = { "-c", "echo 'RAYRUNNER_RESULT {\"metrics\": {\"won\": 2}}' >> \"$0\"; printf '0\\n' > \"$1\"", runFiles.Log, runFiles.Exit },
                })!;
                winnerId = winner.Id;
                File.WriteAllText(runFiles.Started, winner.Id + "\n");
                Assert.True(winner.WaitForExit(30_000), "the winner finished");
                Assert.NotNull(runFiles.ReadExit());
            });
            var late = await _bed.Submit(backend, _bed.GatedSpec("late"));

            var output = await LocalTestBed.Result(backend, late);

            Assert.Equal(RunStatus.Completed, output.Status);
            Assert.Equal(2.0, output.Metrics["won"]);
            Assert.DoesNotContain("late", _bed.Started());
            Assert.Equal(winnerId, files!.ReadPid()!.ProcessId);
        }
    }
}
