using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.CrashHost;
using RayRunner.Core;
using RayRunner.Tests.Unit.Local;
using Xunit;
using CoreRunner = RayRunner.Core.ExperimentRunner;

namespace RayRunner.Tests.Unit.Store
{
    [CollectionDefinition("kill tests", DisableParallelization = true)]
    public class KillTestCollection { }

    /// <summary>
    /// Tests that kill things: a real host process SIGKILLed mid-sweep, crashes between "recorded"
    /// and "submitted", and two processes resuming the same store at once. Every wait is on a line
    /// the host prints (a signal), bounded generously for a loaded 2-core machine.
    /// </summary>
    [Collection("kill tests")]
    public class KillTests : IDisposable
    {
        static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);
        readonly TempFolder _temp = new TempFolder();
        readonly List<HostProcess> _hosts = new List<HostProcess>();

        public void Dispose()
        {
            foreach (var host in _hosts) host.Dispose();
            _temp.Dispose();
        }

        string StorePath => _temp.Sub("store");

        async Task<KillTestBackend> Backend(string name)
        {
            var work = _temp.Sub("work");
            Directory.CreateDirectory(Path.Combine(work, "executions"));
            // The experiment: records that it started (so a duplicate start shows; a retry's attempt
            // N as <run_id>-aN), works for "delay" seconds, reports its index as a metric; with
            // failfirst=1 its first attempt fails.
            File.WriteAllText(Path.Combine(work, "experiment.sh"),
                "run_id=\"$1\"; shift\n" +
                "index=-1; delay=0.2; failfirst=0\n" +
                "for a in \"$@\"; do case \"$a\" in index=*) index=\"${a#index=}\";; delay=*) delay=\"${a#delay=}\";; failfirst=*) failfirst=\"${a#failfirst=}\";; esac; done\n" +
                "echo \"$$\" >> \"" + Path.Combine(work, "executions") + "/$run_id${RAYRUNNER_ATTEMPT:+-a$RAYRUNNER_ATTEMPT}\"\n" +
                "if [ \"$failfirst\" = 1 ] && [ -z \"$RAYRUNNER_ATTEMPT\" ]; then echo \"first attempt fails\"; exit 3; fi\n" +
                "echo \"starting $run_id\"\n" +
                "sleep \"$delay\"\n" +
                "echo \"RAYRUNNER_RESULT {\\\"status\\\": \\\"completed\\\", \\\"metrics\\\": {\\\"index\\\": $index}}\"\n");
            return await KillTestBackend.CreateAsync(name, work, StorePath);
        }

        HostProcess StartHost(KillTestBackend backend, string mode, params string[] args)
        {
            var all = new List<string> { mode, "--store", StorePath, "--work", backend.Work };
            all.AddRange(backend.HostArguments);
            all.AddRange(args);
            var host = new HostProcess(all);
            _hosts.Add(host);
            return host;
        }

        async Task<CoreRunner> FreshRunner(KillTestBackend backend, int maxConcurrent = 4) =>
            // Recorded like the hosts' hand-overs, so a run this process submits again shows.
            await CoreRunner.CreateAsync(RecordingBackend.Wrap(await backend.CreateAsync(), backend.Work), new RayRunnerOptions
            {
                MaxConcurrent = maxConcurrent,
                Store = new FileRunStore(StorePath),
                Entrypoint = Program.ExperimentEntrypoint(backend.Work),
            });

        [LinuxTheory] // the files backend reads /proc; the experiment is a POSIX shell script for every backend
        [InlineData("files")]
        [InlineData("local")]
        [InlineData("ray")]
        public async Task HostKilledMidSweepThenAnotherProcessCollectsAllFiftyResults(string backendName)
        {
            using var backend = await Backend(backendName);
            var host = StartHost(backend, "sweep", "--sweep", "kill50", "--count", "50", "--max-concurrent", "4", "--delay", "0.3");

            await host.WaitForLinesAsync(l => l.StartsWith("finished "), count: 5, Bound);
            host.Kill(); // SIGKILL, mid-sweep
            var afterKill = new FileRunStore(StorePath).List().Where(r => r.SweepId == "kill50").ToList();
            Assert.Equal(50, afterKill.Count); // every run was recorded before any was started
            Assert.InRange(afterKill.Count(r => r.IsFinal), 5, 49);
            Assert.Contains(afterKill, r => !r.IsSubmitted); // some were still queued in the dead process

            using var runner = await FreshRunner(backend);
            using var cts = new CancellationTokenSource(Bound);
            await runner.ResumeQueuedAsync("kill50", cts.Token);
            var results = await Task.WhenAll(afterKill.Select(r => runner.GetResultAsync(r.RunId, cts.Token)));

            Assert.Equal(50, results.Length);
            Assert.All(results, r => Assert.Equal(RunStatus.Completed, r.Status));
            Assert.Equal(Enumerable.Range(0, 50).Select(i => (double)i), results.Select(r => r.Metrics["index"]).OrderBy(x => x));
            Assert.All(afterKill, r => AssertRanOnce(backend, r.RunId, handedOverAgainIf: KilledMidHandOver(r))); // none lost, none run twice
            Assert.All(new FileRunStore(StorePath).List(), r => Assert.Equal(RunStatus.Completed, r.Status));
        }

        [LinuxTheory] // the files backend reads /proc; the experiment is a POSIX shell script for every backend
        [InlineData("files", "before-submit")]
        [InlineData("files", "after-submit")]
        [InlineData("local", "before-submit")]
        [InlineData("local", "after-submit")]
        [InlineData("ray", "before-submit")]
        [InlineData("ray", "after-submit")]
        public async Task CrashBetweenRecordedAndSubmittedNeitherLosesNorDuplicatesTheRun(string backendName, string dieAt)
        {
            using var backend = await Backend(backendName);
            var host = StartHost(backend, "sweep", "--sweep", "crash", "--count", "6", "--max-concurrent", "2", "--delay", "0.5",
                "--die-at", dieAt, "--die-on-submission", "3");

            var dying = (await host.WaitForLinesAsync(l => l.StartsWith("dying "), count: 1, Bound)).Single();
            Assert.True(host.WaitForExit(Bound), "the host kills itself");
            var victim = dying.Substring("dying ".Length);
            var atCrash = new FileRunStore(StorePath).List().ToDictionary(r => r.RunId);
            var record = new FileRunStore(StorePath).TryLoad(victim)!;
            Assert.NotNull(record.Claim); // the crash hit the window between the claim and the submission record
            Assert.False(record.IsSubmitted);
            Assert.Equal(dieAt == "after-submit", backend.HasRun(victim));

            using var runner = await FreshRunner(backend);
            using var cts = new CancellationTokenSource(Bound);
            await runner.ResumeQueuedAsync("crash", cts.Token);
            var ids = new FileRunStore(StorePath).List().Where(r => r.SweepId == "crash").Select(r => r.RunId).ToList();
            var results = await Task.WhenAll(ids.Select(id => runner.GetResultAsync(id, cts.Token)));

            // Normally all 6 were recorded before the crash; on a slow machine the crash may come
            // while the sweep is still being recorded: then the unrecorded configs were never
            // reported to the caller either. Every recorded run must end exactly once.
            Assert.InRange(ids.Count, 3, 6);
            Assert.Contains(victim, ids);
            Assert.All(host.Lines.Where(l => l.StartsWith("spawned ")), l => Assert.Contains(l.Substring(8), ids));
            Assert.Equal(ids.Count, results.Length);
            Assert.All(results, r => Assert.Equal(RunStatus.Completed, r.Status));
            // The victim exactly once; another run caught mid-hand-over by the same crash may be handed over again.
            Assert.All(ids, id => AssertRanOnce(backend, id, handedOverAgainIf: id != victim && atCrash.TryGetValue(id, out var r) && KilledMidHandOver(r)));
        }

        [LinuxTheory] // the files backend reads /proc; the experiment is a POSIX shell script for every backend
        [InlineData("files", "before-submit")]
        [InlineData("files", "after-submit")]
        [InlineData("local", "before-submit")]
        [InlineData("local", "after-submit")]
        [InlineData("ray", "before-submit")]
        [InlineData("ray", "after-submit")]
        public async Task CrashBetweenRecordingARetryAndSubmittingItNeitherLosesNorDuplicatesTheAttempt(string backendName, string dieAt)
        {
            using var backend = await Backend(backendName);
            // Two runs whose first attempts fail; the host dies at the first retry's hand-over.
            var host = StartHost(backend, "sweep", "--sweep", "retry", "--count", "2", "--max-concurrent", "2", "--delay", "0.5",
                "--max-retries", "2", "--fail-first", "1", "--die-at", dieAt, "--die-on-submission", "1", "--die-on-retry", "1");

            var dying = (await host.WaitForLinesAsync(l => l.StartsWith("dying "), count: 1, Bound)).Single();
            Assert.True(host.WaitForExit(Bound), "the host kills itself");
            var attemptId = dying.Substring("dying ".Length);
            Assert.True(RunIds.TryParseAttempt(attemptId, out var victim, out var attempt), $"the host died at '{attemptId}', not at a retry");
            Assert.Equal(2, attempt);
            var record = new FileRunStore(StorePath).TryLoad(victim)!;
            // The crash hit the window between claiming attempt 2 and recording its submission:
            // attempt 1's end and the retry were recorded before.
            Assert.Equal(2, record.Attempt);
            Assert.NotNull(record.Claim);
            Assert.False(record.IsSubmitted);
            Assert.Equal(RunStatus.Failed, record.Attempts!.Single().Result.Status);
            Assert.Equal(dieAt == "after-submit", backend.HasRun(attemptId));

            using var runner = await FreshRunner(backend);
            using var cts = new CancellationTokenSource(Bound);
            await runner.ResumeQueuedAsync("retry", cts.Token);
            var ids = new FileRunStore(StorePath).List().Where(r => r.SweepId == "retry").Select(r => r.RunId).ToList();
            var results = await Task.WhenAll(ids.Select(id => runner.GetResultAsync(id, cts.Token)));

            // A fast failure may be retried before the sweep's second config is recorded: then the
            // crash left that config unrecorded (and never reported to the caller). Every recorded run ends, once.
            Assert.InRange(ids.Count, 1, 2);
            Assert.Contains(victim, ids);
            Assert.All(results, r => Assert.Equal(RunStatus.Completed, r.Status));
            foreach (var id in ids)
            {
                var final = new FileRunStore(StorePath).TryLoad(id)!;
                Assert.Equal(2, final.Attempt); // continued at attempt 2, never restarted at 1 nor skipped to 3
                // Each attempt ran once: attempt 1 by the dead host, attempt 2 once, whoever handed it over.
                Assert.True(backend.Executions(id) == 1, $"attempt 1 of {id} started {backend.Executions(id)} times.\n{Describe(backend, id)}");
                var second = RunIds.ForAttempt(id, 2);
                Assert.True(backend.Executions(second) == 1, $"attempt 2 of {id} started {backend.Executions(second)} times.\n{Describe(backend, id)}");
                var handOvers = backend.Attempts(second);
                Assert.True(handOvers.Count >= 1 && handOvers.GroupBy(p => p).All(g => g.Count() == 1),
                    $"attempt 2 of {id} was handed over {handOvers.Count} times (by processes {string.Join(", ", handOvers)}).");
                var accepted = backend.Accepted(second);
                if (accepted != null) Assert.True(accepted == 1, $"the {backend.Name} backend accepted {second} {accepted} times.");
                var received = backend.Received(second);
                if (received != null) Assert.True(received == 1, $"the {backend.Name} backend received {received} submit requests for {second}.");
            }
        }

        [LinuxTheory] // the files backend reads /proc; the experiment is a POSIX shell script for every backend
        [InlineData("files")]
        [InlineData("local")]
        [InlineData("ray")]
        public async Task TwoProcessesResumingAtOnceDispatchEachQueuedRunExactlyOnce(string backendName)
        {
            using var backend = await Backend(backendName);
            var store = new FileRunStore(StorePath);
            var ids = Enumerable.Range(0, 20).Select(i => "orphan" + i.ToString("D2")).ToList();
            for (var i = 0; i < ids.Count; i++)
            {
                var config = new Dictionary<string, object?> { ["index"] = (long)i, ["delay"] = 0.1 };
                store.Save(StoreRecords.Queued(ids[i], backend.Name, Program.ExperimentEntrypoint(backend.Work), "race", config, owner: StoreRecords.DeadProcess));
            }
            var go = _temp.Sub("go");
            var a = StartHost(backend, "resume", "--sweep", "race", "--go", go, "--max-concurrent", "3");
            var b = StartHost(backend, "resume", "--sweep", "race", "--go", go, "--max-concurrent", "3");
            await a.WaitForLinesAsync(l => l == "ready", 1, Bound);
            await b.WaitForLinesAsync(l => l == "ready", 1, Bound);
            File.WriteAllText(go, "go");

            await a.WaitForLinesAsync(l => l == "done", 1, Bound);
            await b.WaitForLinesAsync(l => l == "done", 1, Bound);

            var adoptedByA = a.Lines.Where(l => l.StartsWith("adopted ")).Select(l => l.Substring(8)).ToList();
            var adoptedByB = b.Lines.Where(l => l.StartsWith("adopted ")).Select(l => l.Substring(8)).ToList();
            Assert.Empty(adoptedByA.Intersect(adoptedByB));
            Assert.Equal(ids, adoptedByA.Concat(adoptedByB).OrderBy(x => x, StringComparer.Ordinal));
            Assert.All(ids, id => AssertRanOnce(backend, id));
            Assert.All(new FileRunStore(StorePath).List(), r => Assert.Equal(RunStatus.Completed, r.Status));
        }

        [LinuxTheory] // the files backend reads /proc; the experiment is a POSIX shell script for every backend
        [InlineData("files")]
        [InlineData("local")]
        [InlineData("ray")]
        public async Task GarbageInTheStoreIsReportedAndSkippedByAnotherProcess(string backendName)
        {
            using var backend = await Backend(backendName);
            var first = StartHost(backend, "sweep", "--sweep", "junk", "--count", "3", "--delay", "0");
            await first.WaitForLinesAsync(l => l == "done", 1, Bound);
            Assert.True(first.WaitForExit(Bound));
            var store = new FileRunStore(StorePath);
            var victim = store.List()[0].RunId;
            File.WriteAllBytes(Path.Combine(store.RunFolder(victim), FileRunStore.RecordFileName), new byte[] { 0x7b, 0x0a, 0xff, 0xfe, 0x00 });
            File.WriteAllText(Path.Combine(store.Root, "index.jsonl"), "{\"truncated\": ");

            var collector = StartHost(backend, "collect", "--sweep", "junk");
            await collector.WaitForLinesAsync(l => l == "done", 1, Bound);

            Assert.True(collector.WaitForExit(Bound));
            Assert.Equal(0, collector.ExitCode);
            Assert.Equal(2, collector.Lines.Count(l => l.StartsWith("result ") && l.Contains(" completed ")));
            Assert.Contains("problems 1", collector.Lines);
        }

        /// <summary>
        /// A run the SIGKILL caught between its claim and its submission record: the dead host may
        /// or may not have handed it over, so the process that takes it over may hand it over again
        /// (after asking the backend by id). Every other run is handed over exactly once.
        /// </summary>
        static bool KilledMidHandOver(RunRecord atKill) => atKill.Claim != null && !atKill.IsSubmitted && !atKill.IsFinal;

        /// <summary>
        /// Observed, not assumed: the runner handed the run to the backend once (logged before the
        /// backend's own duplicate guards), the experiment wrote one line when it started, and
        /// (Ray) one POST for the id reached the cluster and it created one job.
        /// </summary>
        static void AssertRanOnce(KillTestBackend backend, string runId, bool handedOverAgainIf = false)
        {
            var attempts = backend.Attempts(runId);
            var byProcess = attempts.GroupBy(pid => pid).Select(g => g.Count()).DefaultIfEmpty(0).Max();
            Assert.True(attempts.Count == 1 || (handedOverAgainIf && attempts.Count == 2 && byProcess == 1),
                $"run {runId} was handed to the {backend.Name} backend {attempts.Count} times (by processes {string.Join(", ", attempts)}).\n{Describe(backend, runId)}");
            Assert.True(backend.Executions(runId) == 1, $"run {runId} started {backend.Executions(runId)} times on the {backend.Name} backend.\n{Describe(backend, runId)}");
            var accepted = backend.Accepted(runId);
            if (accepted != null) Assert.True(accepted == 1, $"the {backend.Name} backend accepted run {runId} {accepted} times.\n{Describe(backend, runId)}");
            var received = backend.Received(runId);
            if (received != null) Assert.True(received == 1, $"the {backend.Name} backend received {received} submit requests for run {runId}: one was sent after it had the run.\n{Describe(backend, runId)}");
        }

        /// <summary>The run's record and files, for a failure message.</summary>
        static string Describe(KillTestBackend backend, string runId)
        {
            var folder = new FileRunStore(backend.Store).RunFolder(runId);
            if (!Directory.Exists(folder)) return "(no folder)";
            return string.Join("\n", Directory.GetFiles(folder).OrderBy(f => f, StringComparer.Ordinal)
                .Select(f => "--- " + Path.GetFileName(f) + "\n" + File.ReadAllText(f)));
        }
    }

    /// <summary>The crash host as a child process whose output lines the test waits on.</summary>
    public sealed class HostProcess : IDisposable
    {
        readonly Process _process;
        readonly ConcurrentQueue<string> _lines = new ConcurrentQueue<string>();
        readonly ConcurrentQueue<string> _errors = new ConcurrentQueue<string>();
        readonly SemaphoreSlim _lineArrived = new SemaphoreSlim(0);

        public HostProcess(IEnumerable<string> args)
        {
            var hostDll = Path.Combine(AppContext.BaseDirectory, "RayRunner.CrashHost.dll");
            if (!File.Exists(hostDll)) throw new FileNotFoundException("The crash host was not built next to the tests.", hostDll);
            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(hostDll);
            foreach (var arg in args) psi.ArgumentList.Add(arg);
            _process = new Process { StartInfo = psi };
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data == null) return;
                _lines.Enqueue(e.Data);
                _lineArrived.Release();
            };
            _process.ErrorDataReceived += (_, e) => { if (e.Data != null) _errors.Enqueue(e.Data); };
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public IReadOnlyList<string> Lines => _lines.ToList();
        public int ExitCode => _process.ExitCode;

        /// <summary>Waits until <paramref name="count"/> output lines match; fails with the host's output when it exits or the bound passes first.</summary>
        public async Task<IReadOnlyList<string>> WaitForLinesAsync(Func<string, bool> match, int count, TimeSpan bound)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                var matching = Lines.Where(match).ToList();
                if (matching.Count >= count) return matching;
                var left = bound - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                    throw new TimeoutException($"The host did not print the expected lines within {bound}.\n{Describe()}");
                if (!await _lineArrived.WaitAsync(_process.HasExited ? TimeSpan.FromMilliseconds(200) : left) && _process.HasExited)
                {
                    if (Lines.Where(match).Count() >= count) continue;
                    throw new InvalidOperationException($"The host exited (code {_process.ExitCode}) before printing the expected lines.\n{Describe()}");
                }
            }
        }

        public void Kill()
        {
            _process.Kill(); // SIGKILL on Unix: the process gets no chance to clean up
            _process.WaitForExit();
        }

        public bool WaitForExit(TimeSpan bound) => _process.WaitForExit((int)bound.TotalMilliseconds);

        string Describe() => "stdout:\n" + string.Join("\n", _lines) + "\nstderr:\n" + string.Join("\n", _errors);

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited) Kill();
            }
            catch (InvalidOperationException) { }
            _process.Dispose();
        }
    }
}
