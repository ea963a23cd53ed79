using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Local;
using Xunit;

namespace RayRunner.Tests.Unit.Local
{
    /// <summary>A fact that needs a POSIX shell (/bin/sh, sleep); skipped on Windows.</summary>
    public sealed class UnixFactAttribute : FactAttribute
    {
        public UnixFactAttribute()
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) Skip = "needs a POSIX shell";
        }
    }

    /// <summary>A fact that reads /proc (process environments, sessions); Linux only.</summary>
    public sealed class LinuxFactAttribute : FactAttribute
    {
        public LinuxFactAttribute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) Skip = "reads /proc";
        }
    }

    public sealed class UnixTheoryAttribute : TheoryAttribute
    {
        public UnixTheoryAttribute()
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) Skip = "needs a POSIX shell";
        }
    }

    /// <summary>A theory whose cases read /proc or SIGKILL process trees; Linux only, skipped visibly elsewhere.</summary>
    public sealed class LinuxTheoryAttribute : TheoryAttribute
    {
        public LinuxTheoryAttribute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) Skip = "reads /proc and SIGKILLs process trees";
        }
    }

    /// <summary>
    /// A temp folder, backends that log into it, and small shell scripts as experiments. Every run
    /// submitted through it is cancelled and every backend disposed at the end, so a failing test
    /// leaves no process behind.
    /// </summary>
    internal sealed class LocalTestBed : IDisposable
    {
        static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

        readonly ConcurrentBag<(IRayBackend Backend, TaskRef Ref)> _submitted = new();
        readonly ConcurrentBag<IDisposable> _disposables = new();

        public LocalTestBed()
        {
            Root = Path.Combine(Path.GetTempPath(), "rr-local-test-" + Guid.NewGuid().ToString("N").Substring(0, 10));
            Directory.CreateDirectory(Root);
            Logs = Path.Combine(Root, "logs");
            _gateScript = new Lazy<string>(() => Script("gate.sh",
                "echo \"start $RAYRUNNER_RUN_ID ${CUDA_VISIBLE_DEVICES-unset}\" >> \"$EVENTS\"\n" +
                "while [ ! -e \"$GATES/$RAYRUNNER_RUN_ID\" ]; do sleep 0.02; done\n" +
                "echo \"end $RAYRUNNER_RUN_ID\" >> \"$EVENTS\"\n" +
                "echo 'RAYRUNNER_RESULT {\"metrics\": {\"gate\": 1}}'\n"));
            _resultScript = new Lazy<string>(() => Script("result.sh", "printf 'RAYRUNNER_RESULT %s\\n' \"$1\"\nexit \"${2:-0}\"\n"));
        }

        /// <summary>A run that reports <paramref name="json"/> and exits with <paramref name="exitCode"/>; no shell parses the JSON.</summary>
        public TaskSpec ResultSpec(string json, int exitCode = 0) =>
            Spec("sh " + ResultScript() + " '" + json.Replace("{", "{{").Replace("}", "}}") + "' " + exitCode);

        public string Root { get; }
        public string Logs { get; }

        public string PathOf(string name) => Path.Combine(Root, name);

        /// <summary>A backend with plenty of CPUs unless told otherwise, so only the limit under test binds.</summary>
        public LocalProcessBackend Backend(int maxConcurrent = 4, int numCpus = 64, int? numGpus = null,
            IDictionary<string, string>? environment = null, LaunchMode? mode = null, string? logDirectory = null, Action<string>? beforeLaunch = null)
        {
            var env = environment ?? new Dictionary<string, string>();
            var backend = new LocalProcessBackend(new LocalBackendOptions
            {
                MaxConcurrent = maxConcurrent,
                NumCpus = numCpus,
                NumGpus = numGpus,
                EnvironmentReader = name => env.TryGetValue(name, out var v) ? v : (name == "CUDA_VISIBLE_DEVICES" ? null : Environment.GetEnvironmentVariable(name)),
                LogDirectory = logDirectory ?? Logs,
                ForceLaunchMode = mode,
                BeforeLaunch = beforeLaunch,
            });
            _disposables.Add(backend);
            return backend;
        }

        public string Script(string name, string body)
        {
            var path = PathOf(name);
            File.WriteAllText(path, body.Replace("\r\n", "\n"));
            return path;
        }

        public static TaskSpec Spec(string entrypoint, object? config = null, string? runId = null, bool useShell = false,
            string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
        {
            var input = new TaskInput(ExperimentConfig.Normalize(config ?? new Dictionary<string, object?>()), runId ?? RunIds.New());
            return new TaskSpec(input, EntrypointTemplate.Parse(entrypoint))
            {
                UseShell = useShell,
                WorkingDirectory = workingDirectory,
                Environment = environment ?? new Dictionary<string, string>(),
            };
        }

        public static TaskOptions Options(double cpus = 1, double? gpus = null) => new TaskOptions { NumCpus = cpus, NumGpus = gpus };

        public async Task<TaskRef> Submit(IRayBackend backend, TaskSpec spec, TaskOptions? options = null)
        {
            var reference = await backend.SubmitAsync(spec, options ?? Options(), CancellationToken.None);
            _submitted.Add((backend, reference));
            return reference;
        }

        /// <summary>Waits for the run's output, with a generous bound so a stuck run fails the test instead of hanging it.</summary>
        public static async Task<TaskOutput> Result(IRayBackend backend, TaskRef reference)
        {
            using var cts = new CancellationTokenSource(Patience);
            return await backend.GetAsync(reference, cts.Token);
        }

        /// <summary>Polls a condition on the outside world (files written by children) with backoff, up to a generous bound.</summary>
        public static async Task WaitUntil(Func<bool> condition, string what)
        {
            var deadline = DateTime.UtcNow + Patience;
            var delay = 10;
            while (!condition())
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException("Timed out waiting until " + what);
                await Task.Delay(delay);
                delay = Math.Min(delay * 2, 200);
            }
        }

        // ------------------------------------------------------------------------------
        // The gate: children that record their start and then block until the test lets them go.
        // ------------------------------------------------------------------------------

        /// <summary>
        /// A script that appends "start &lt;run id&gt; &lt;CUDA_VISIBLE_DEVICES&gt;" to $EVENTS, waits
        /// until the file $GATES/&lt;run id&gt; exists, then appends "end &lt;run id&gt;" and reports
        /// the metric gate = 1.
        /// </summary>
        /// <remarks>Written once: a shell reads its script as it goes, so rewriting it under a running child would break that child.</remarks>
        public string GateScript() => _gateScript.Value;

        readonly Lazy<string> _gateScript;

        /// <summary>A script that prints "RAYRUNNER_RESULT $1" and exits with code $2 (0 when absent).</summary>
        public string ResultScript() => _resultScript.Value;

        readonly Lazy<string> _resultScript;

        public string Events => PathOf("events.txt");
        public string Gates => PathOf("gates");

        public IReadOnlyDictionary<string, string> GateEnvironment()
        {
            Directory.CreateDirectory(Gates);
            return new Dictionary<string, string> { ["EVENTS"] = Events, ["GATES"] = Gates };
        }

        public TaskSpec GatedSpec(string? runId = null) =>
            Spec("sh " + GateScript(), runId: runId, environment: GateEnvironment());

        public void Open(string runId) => File.WriteAllText(Path.Combine(Gates, runId), "go");

        public IReadOnlyList<string[]> EventLines() =>
            File.Exists(Events)
                ? File.ReadAllLines(Events).Where(l => l.Length > 0).Select(l => l.Split(' ')).ToList()
                : new List<string[]>();

        public IReadOnlyList<string> Started() => EventLines().Where(e => e[0] == "start").Select(e => e[1]).ToList();

        /// <summary>Replays the event file: the most runs that were between their start and end lines at once.</summary>
        public int MaxOverlapInEvents()
        {
            int now = 0, max = 0;
            foreach (var e in EventLines())
            {
                now += e[0] == "start" ? 1 : -1;
                max = Math.Max(max, now);
            }
            return max;
        }

        /// <summary>
        /// Asks the OS, not the backend: which of these runs have a live process right now, found by the
        /// RAYRUNNER_RUN_ID in each process's environment (Linux /proc).
        /// </summary>
        public static IReadOnlyCollection<string> LiveRunIds(IEnumerable<string> runIds)
        {
            var wanted = new HashSet<string>(runIds.Select(id => "RAYRUNNER_RUN_ID=" + id));
            var live = new HashSet<string>();
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid) || !IsAlive(pid)) continue;
                byte[] environ;
                try { environ = File.ReadAllBytes(Path.Combine(dir, "environ")); }
                catch (IOException) { continue; }
                catch (UnauthorizedAccessException) { continue; }
                foreach (var entry in Encoding.UTF8.GetString(environ).Split('\0'))
                    if (wanted.Contains(entry)) live.Add(entry.Substring("RAYRUNNER_RUN_ID=".Length));
            }
            return live;
        }

        /// <summary>Alive and not a zombie (a container's init may never reap orphans).</summary>
        public static bool IsAlive(int pid)
        {
            string stat;
            try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
            catch (IOException) { return false; }
            var state = stat.Substring(stat.LastIndexOf(')') + 2, 1);
            return state != "Z" && state != "X";
        }

        public static int ReadPid(string file) => int.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture);

        public static string RepoRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "RayRunner.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("RayRunner.sln not found above " + AppContext.BaseDirectory);
        }

        /// <summary>
        /// Safety net for runs a test started some other way (through a RayRunner) and could not
        /// stop because it failed first: every run's root process names its log, under this folder,
        /// on its command line; each is ended with its whole tree.
        /// </summary>
        void KillLeftovers()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return;
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid) || !IsAlive(pid)) continue;
                string cmdline;
                try { cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")); }
                catch (IOException) { continue; }
                catch (UnauthorizedAccessException) { continue; }
                // A run's own command too, not only its trampoline: a test that kills a trampoline from
                // outside leaves the command in the run's session, re-parented to init (gate.sh loops
                // left from such runs were found still polling an hour later).
                if ((cmdline.Contains(ProcessLauncher.TrampolineName) && cmdline.Contains(Logs)) || cmdline.Contains(Root))
                    ProcessTree.Kill(pid, null, null, sessionLeader: ProcStat.Read(pid)?.SessionId == pid);
            }
        }

        public void Dispose()
        {
            foreach (var (backend, reference) in _submitted)
            {
                try { backend.CancelAsync(reference, CancellationToken.None).Wait(TimeSpan.FromSeconds(15)); }
                catch (Exception) { /* best effort: the test's own assertion is what matters */ }
            }
            foreach (var d in _disposables) d.Dispose();
            KillLeftovers();
            try { Directory.Delete(Root, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
