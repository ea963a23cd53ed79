using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using Runner = RayRunner.Core.ExperimentRunner;

namespace RayRunner.CrashHost
{
    /// <summary>
    /// The kill tests' host process. Modes (each prints one line per event, flushed at once, so the
    /// test can act on them as signals):
    ///   sweep   start a sweep of --count configs {index, delay}; prints "spawned ID", "finished ID STATUS", "done"
    ///   resume  wait for the file --go (if given), adopt the store's orphaned queued runs, wait for them;
    ///           prints "ready", "adopted ID", "finished ID STATUS", "done"
    ///   collect adopt orphans and wait for every run of --sweep; prints "result ID STATUS INDEX", "problems N", "done"
    /// Common options: --store DIR  --backend files|local|ray  --work DIR (files backend root and the
    /// experiment script)  --address URL (ray)  --sweep ID  --max-concurrent N  --delay SECONDS
    /// --max-retries N  --fail-first 1 (sweep: each config fails its first attempt)
    /// --die-on-retry 1 (count only retries' hand-overs, attempt 2 and later, for --die-on-submission)
    /// --die-at before-submit|after-submit  --die-on-submission K (kill this process with SIGKILL at
    /// the K-th hand-over, before or after the backend got the run).
    /// Every hand-over to the backend is logged in --work/attempts/ID (see RecordingBackend).
    /// </summary>
    public static class Program
    {
        public static async Task<int> Main(string[] args)
        {
            if (args.Length == 0)
            {
                Console.Error.WriteLine("usage: RayRunner.CrashHost sweep|resume|collect --store DIR --backend files|local|ray [options]");
                return 2;
            }
            var mode = args[0];
            var opts = ParseOptions(args.Skip(1).ToArray());
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5)); // a host never outlives a broken test
            try
            {
                // Composed as the module composes it (RunnerHost): the local backend writes each
                // run's log, pid and exit files into the run's store folder, where a process started
                // later finds them. Only the backend is this host's own (files, or a dying wrapper).
                var runner = await RunnerHost.OpenAsync(new RunnerSetup
                {
                    StoreRoot = Get(opts, "store"),
                    Entrypoint = ExperimentEntrypoint(Get(opts, "work")),
                    Backend = new BackendSettings
                    {
                        Backend = Get(opts, "backend", "files") == "ray" ? BackendChoice.Ray : BackendChoice.Local,
                        Address = opts.TryGetValue("address", out var address) ? address : null,
                        NoAutoStart = true,
                        MaxConcurrent = int.Parse(Get(opts, "max-concurrent", "4")),
                    },
                    Warn = Console.Error.WriteLine,
                    BuildBackend = async (settings, ct) =>
                    {
                        var backend = RecordingBackend.Wrap(await CreateBackendAsync(opts, settings, ct), Get(opts, "work"));
                        return opts.TryGetValue("die-at", out var dieAt)
                            ? new DyingBackend(backend, dieAt, int.Parse(Get(opts, "die-on-submission", "1")), retriesOnly: Get(opts, "die-on-retry", "0") == "1")
                            : backend;
                    },
                }, cts.Token);
                var store = (FileRunStore)runner.Store;
                switch (mode)
                {
                    case "sweep": return await SweepAsync(runner, opts, cts.Token);
                    case "resume": return await ResumeAsync(runner, opts, cts.Token);
                    case "collect": return await CollectAsync(runner, store, opts, cts.Token);
                    default:
                        Console.Error.WriteLine($"unknown mode '{mode}'");
                        return 2;
                }
            }
            catch (Exception ex)
            {
                Console.Error.WriteLine("host failed: " + ex);
                return 1;
            }
        }

        /// <summary>The experiment every backend runs: a shell script the test writes into the work folder.</summary>
        public static string ExperimentEntrypoint(string work) =>
            "sh '" + Path.Combine(Path.GetFullPath(work), "experiment.sh") + "' {run_id} {overrides}";

        static async Task<IRayBackend> CreateBackendAsync(Dictionary<string, string> opts, BackendSettings settings, CancellationToken cancellationToken)
        {
            var kind = Get(opts, "backend", "files");
            switch (kind)
            {
                case "files":
                    return new FilesBackend(Path.Combine(Get(opts, "work"), "backend"));
                case "local":
                case "ray":
                    // The real backends, built as the module builds them (Connect-RayCluster).
                    return await BackendFactory.CreateAsync(settings, warn: Console.Error.WriteLine, cancellationToken);
                default:
                    throw new ArgumentException($"unknown backend '{kind}' (files, local or ray)");
            }
        }

        static async Task<int> SweepAsync(Runner runner, Dictionary<string, string> opts, CancellationToken cancellationToken)
        {
            var count = int.Parse(Get(opts, "count", "50"));
            var delay = Get(opts, "delay", "0.3");
            var failFirst = Get(opts, "fail-first", "0") == "1";
            var configs = Enumerable.Range(0, count)
                .Select(i =>
                {
                    var config = new Dictionary<string, object?> { ["index"] = (long)i, ["delay"] = double.Parse(delay, System.Globalization.CultureInfo.InvariantCulture) };
                    if (failFirst) config["failfirst"] = 1L; // the experiment fails its first attempt
                    return (object)config;
                })
                .ToList();
            var request = new RunRequest
            {
                SweepId = Get(opts, "sweep"),
                TimeoutSeconds = 600,
                Retry = RetryPolicy.Create(int.Parse(Get(opts, "max-retries", "0")), null),
            };
            var spawned = await runner.SpawnSweepAsync(configs, request, cancellationToken);
            foreach (var s in spawned) Say("spawned " + s.RunId);
            await ReportAsync(runner, spawned.Select(s => s.RunId).ToList(), cancellationToken);
            Say("done");
            return 0;
        }

        static async Task<int> ResumeAsync(Runner runner, Dictionary<string, string> opts, CancellationToken cancellationToken)
        {
            Say("ready");
            if (opts.TryGetValue("go", out var go))
            {
                // Start together with a sibling host: the test creates this file once both are ready.
                while (!File.Exists(go)) await Task.Delay(5, cancellationToken);
            }
            var adopted = await runner.ResumeQueuedAsync(opts.TryGetValue("sweep", out var sweep) ? sweep : null, cancellationToken);
            foreach (var a in adopted) Say("adopted " + a.RunId);
            await ReportAsync(runner, adopted.Select(a => a.RunId).ToList(), cancellationToken);
            Say("done");
            return 0;
        }

        static async Task<int> CollectAsync(Runner runner, FileRunStore store, Dictionary<string, string> opts, CancellationToken cancellationToken)
        {
            var sweep = Get(opts, "sweep");
            await runner.ResumeQueuedAsync(sweep, cancellationToken);
            var ids = store.List().Where(r => r.SweepId == sweep).Select(r => r.RunId).ToList();
            foreach (var id in ids)
            {
                var result = await runner.GetResultAsync(id, cancellationToken);
                var index = result.Metrics.TryGetValue("index", out var i) ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-";
                Say($"result {id} {result.Status} {index}");
            }
            Say("problems " + store.Problems.Count);
            Say("done");
            return 0;
        }

        static async Task ReportAsync(Runner runner, IReadOnlyList<string> runIds, CancellationToken cancellationToken)
        {
            var reports = runIds.Select(async id =>
            {
                var result = await runner.GetResultAsync(id, cancellationToken);
                Say($"finished {id} {result.Status}");
            });
            await Task.WhenAll(reports);
        }

        static readonly object SayLock = new object();

        static void Say(string line)
        {
            lock (SayLock)
            {
                Console.Out.WriteLine(line);
                Console.Out.Flush();
            }
        }

        static Dictionary<string, string> ParseOptions(string[] args)
        {
            var opts = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                    throw new ArgumentException($"expected '--name value' at '{args[i]}'");
                opts[args[i].Substring(2)] = args[++i];
            }
            return opts;
        }

        static string Get(Dictionary<string, string> opts, string name, string? fallback = null) =>
            opts.TryGetValue(name, out var value) ? value : fallback ?? throw new ArgumentException($"--{name} is required");

        /// <summary>
        /// Simulates the crash between "recorded" and "submitted": at the K-th hand-over this process
        /// SIGKILLs itself, before the backend got the run (before-submit) or after the backend
        /// started it but before the runner could record that (after-submit).
        /// </summary>
        sealed class DyingBackend : IRayBackend
        {
            readonly IRayBackend _inner;
            readonly string _when;
            readonly int _at;
            readonly bool _retriesOnly;
            int _submissions;

            public DyingBackend(IRayBackend inner, string when, int at, bool retriesOnly)
            {
                _retriesOnly = retriesOnly;
                if (when != "before-submit" && when != "after-submit") throw new ArgumentException("--die-at is before-submit or after-submit");
                _inner = inner;
                _when = when;
                _at = at;
            }

            public string Name => _inner.Name;
            public string Address => _inner.Address;
            public bool IsAvailable => _inner.IsAvailable;
            public string? UnavailableReason => _inner.UnavailableReason;
            public bool IsInitialized => _inner.IsInitialized;
            public Task InitAsync(ClusterOptions options, CancellationToken cancellationToken) => _inner.InitAsync(options, cancellationToken);

            public async Task<TaskRef> SubmitAsync(TaskSpec spec, TaskOptions options, CancellationToken cancellationToken)
            {
                var n = _retriesOnly && spec.Attempt == 1 ? 0 : Interlocked.Increment(ref _submissions);
                if (n == _at && _when == "before-submit") Die(spec.SubmissionId);
                var result = await _inner.SubmitAsync(spec, options, cancellationToken);
                if (n == _at && _when == "after-submit") Die(spec.SubmissionId);
                return result;
            }

            static void Die(string runId)
            {
                Say("dying " + runId);
                Process.GetCurrentProcess().Kill(); // SIGKILL: no finally blocks, no flush, like a real crash
            }

            public Task<TaskOutput> GetAsync(TaskRef task, CancellationToken cancellationToken) => _inner.GetAsync(task, cancellationToken);
            public Task<WaitResult> WaitAsync(IReadOnlyList<TaskRef> tasks, int numReturns, TimeSpan? timeout, CancellationToken cancellationToken) =>
                _inner.WaitAsync(tasks, numReturns, timeout, cancellationToken);
            public Task CancelAsync(TaskRef task, CancellationToken cancellationToken) => _inner.CancelAsync(task, cancellationToken);
            public Task<string> ReadLogAsync(TaskRef task, int? tailLines, CancellationToken cancellationToken) => _inner.ReadLogAsync(task, tailLines, cancellationToken);
            public Task RemoveAsync(TaskRef task, CancellationToken cancellationToken) => _inner.RemoveAsync(task, cancellationToken);
            public BackendAbilities Abilities => _inner.Abilities;
            public Task ShutdownAsync(CancellationToken cancellationToken) => _inner.ShutdownAsync(cancellationToken);
        }
    }
}
