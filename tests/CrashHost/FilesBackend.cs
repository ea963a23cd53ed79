using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;

namespace RayRunner.CrashHost
{
    /// <summary>
    /// A test backend that genuinely works across processes: each run is a real child process
    /// (under /bin/sh), and everything about it lives in files under <c>&lt;root&gt;/runs/&lt;runId&gt;/</c>,
    /// so any process can find, wait for and read a run that another (possibly killed) process
    /// started: the same re-attach the local backend does by recorded pid and start time.
    /// </summary>
    /// <remarks>
    /// Exactly once without trusting the submitter to survive: the child itself claims the run
    /// with an atomic <c>mkdir started</c> and exits at once if another child got there first, then
    /// records its own pid and start time (<c>proc</c>), runs the command (output in <c>out</c>) and
    /// writes the exit code (<c>exit</c>). A submitter killed at any point therefore leaves either
    /// no run (resubmitting is safe) or one that records itself. Linux only (/bin/sh, /proc).
    /// </remarks>
    public sealed class FilesBackend : IRayBackend
    {
        public const string BackendName = "files";

        // $1: the run's folder; the rest: the run's argv (never interpreted by the shell).
        const string Wrapper =
            "dir=\"$1\"; shift; " +
            "exec </dev/null >/dev/null 2>&1; " + // let go of the submitter's pipes at once
            "mkdir \"$dir/started\" || exit 0; " + // the one child that runs this run
            // Its start token in ProcessIdentity's Linux form: boot id and start ticks.
            "printf '%s\\nlinux:%s:%s\\n' \"$$\" \"$(cat /proc/sys/kernel/random/boot_id)\" \"$(cut -d' ' -f22 /proc/$$/stat)\" >\"$dir/proc.tmp\" && mv \"$dir/proc.tmp\" \"$dir/proc\"; " +
            "\"$@\" >\"$dir/out\" 2>&1; code=$?; " +
            "printf '%s\\n' \"$code\" >\"$dir/exit.tmp\" && mv \"$dir/exit.tmp\" \"$dir/exit\"";

        /// <summary>How long a started run may take to record its process before it counts as dead.</summary>
        static readonly TimeSpan StartGrace = TimeSpan.FromSeconds(10);

        readonly string _root;

        public FilesBackend(string root)
        {
            _root = Path.GetFullPath(root);
            Directory.CreateDirectory(Path.Combine(_root, "runs"));
        }

        public string Name => BackendName;
        public string Address => "file://" + _root;
        public bool IsAvailable => File.Exists("/bin/sh") && Directory.Exists("/proc/self");
        public string? UnavailableReason => IsAvailable ? null : "the files test backend needs /bin/sh and /proc (Linux)";
        public bool IsInitialized { get; private set; }

        public Task InitAsync(ClusterOptions options, CancellationToken cancellationToken)
        {
            IsInitialized = true;
            return Task.CompletedTask;
        }

        string RunDir(string runId) => Path.Combine(_root, "runs", RunIds.Validate(runId));

        public async Task<TaskRef> SubmitAsync(TaskSpec spec, TaskOptions options, CancellationToken cancellationToken)
        {
            var dir = RunDir(spec.SubmissionId);
            Directory.CreateDirectory(dir);
            if (!Directory.Exists(Path.Combine(dir, "started")))
            {
                var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = spec.WorkingDirectory ?? _root };
                psi.ArgumentList.Add("-c");
                psi.ArgumentList.Add(Wrapper);
                psi.ArgumentList.Add("rayrunner-run");
                psi.ArgumentList.Add(dir);
                foreach (var arg in spec.Arguments()) psi.ArgumentList.Add(arg);
                foreach (var kv in spec.ContractEnvironment()) psi.Environment[kv.Key] = kv.Value;
                using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start /bin/sh");
            }
            // Return once the run has recorded itself, so any process can find it from here on.
            var clock = Stopwatch.StartNew();
            while (ReadProc(spec.SubmissionId) == null)
            {
                if (clock.Elapsed > StartGrace) throw new TimeoutException($"Run '{spec.SubmissionId}' did not start within {StartGrace.TotalSeconds} s.");
                await Task.Delay(5, cancellationToken).ConfigureAwait(false);
            }
            return RefOf(spec.SubmissionId);
        }

        TaskRef RefOf(string runId, ProcessIdentity? identity = null)
        {
            identity ??= ReadProc(runId);
            var locator = new Dictionary<string, string>();
            if (identity != null)
            {
                locator["pid"] = identity.Pid.ToString(CultureInfo.InvariantCulture);
                locator["start_time"] = identity.StartTime;
            }
            return new TaskRef(Name, runId, locator);
        }

        ProcessIdentity? ReadProc(string runId)
        {
            var path = Path.Combine(RunDir(runId), "proc");
            if (!File.Exists(path)) return null;
            var lines = File.ReadAllLines(path);
            return lines.Length < 2 ? null : new ProcessIdentity { Pid = int.Parse(lines[0], CultureInfo.InvariantCulture), StartTime = lines[1], Host = Environment.MachineName };
        }

        /// <summary>The run's process, from the locator when the caller has one, else from the run's folder.</summary>
        ProcessIdentity? ProcessOf(TaskRef task)
        {
            if (task.Locator.TryGetValue("pid", out var pid) && task.Locator.TryGetValue("start_time", out var start))
                return new ProcessIdentity { Pid = int.Parse(pid, CultureInfo.InvariantCulture), StartTime = start, Host = Environment.MachineName };
            return ReadProc(task.RunId);
        }

        void EnsureKnown(TaskRef task)
        {
            if (!Directory.Exists(Path.Combine(RunDir(task.RunId), "started")))
                throw new KeyNotFoundException($"The files backend has no run '{task.RunId}'.");
        }

        /// <summary>Final output when the run has ended (exit file written, or its process gone), else null.</summary>
        TaskOutput? TryResult(TaskRef task)
        {
            EnsureKnown(task);
            var dir = RunDir(task.RunId);
            var exitPath = Path.Combine(dir, "exit");
            if (!File.Exists(exitPath))
            {
                var process = ProcessOf(task);
                if (process != null && process.IsAlive) return null;
                if (process == null && Directory.GetLastWriteTimeUtc(Path.Combine(dir, "started")) > DateTime.UtcNow - StartGrace) return null; // being started
                if (File.Exists(exitPath)) return TryResult(task); // ended just now
                return TaskOutput.Failure(task.RunId, RunStatus.Failed,
                    $"The run's process ({process?.ToString() ?? "never recorded"}) ended without reporting: it was killed, or died with its host.");
            }
            var code = int.Parse(File.ReadAllText(exitPath).Trim(), CultureInfo.InvariantCulture);
            var outPath = Path.Combine(dir, "out");
            var resultLine = File.Exists(outPath)
                ? File.ReadLines(outPath).LastOrDefault(l => l.StartsWith("RAYRUNNER_RESULT ", StringComparison.Ordinal))
                : null;
            if (resultLine != null)
            {
                var output = RayRunnerJson.Deserialize<TaskOutput>(resultLine.Substring("RAYRUNNER_RESULT ".Length));
                if (output != null) return output.With(runId: task.RunId);
            }
            return code == 0
                ? new TaskOutput { RunId = task.RunId, Status = RunStatus.Completed }
                : TaskOutput.Failure(task.RunId, RunStatus.Failed, $"The command exited with code {code}.");
        }

        public async Task<TaskOutput> GetAsync(TaskRef task, CancellationToken cancellationToken)
        {
            var pause = 20;
            while (true)
            {
                var output = TryResult(task);
                if (output != null) return output;
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                pause = Math.Min(pause * 2, 200);
            }
        }

        public async Task<WaitResult> WaitAsync(IReadOnlyList<TaskRef> tasks, int numReturns, TimeSpan? timeout, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            var pause = 20;
            while (true)
            {
                var ready = tasks.Where(t => TryResult(t) != null).ToList();
                var notReady = tasks.Where(t => !ready.Contains(t)).Select(t => RefOf(t.RunId)).ToList();
                if (ready.Count >= numReturns || (timeout.HasValue && clock.Elapsed >= timeout.Value))
                    return new WaitResult(ready.Select(t => RefOf(t.RunId)).ToList(), notReady,
                        notReady.ToDictionary(t => t.RunId, _ => RunStatus.Running));
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                pause = Math.Min(pause * 2, 200);
            }
        }

        public Task CancelAsync(TaskRef task, CancellationToken cancellationToken)
        {
            var process = ProcessOf(task);
            if (process != null && process.IsAlive)
            {
                try
                {
                    using var p = Process.GetProcessById(process.Pid);
                    p.Kill(entireProcessTree: true);
                }
                catch (ArgumentException) { }
                catch (InvalidOperationException) { }
            }
            return Task.CompletedTask;
        }

        public Task ShutdownAsync(CancellationToken cancellationToken)
        {
            IsInitialized = false;
            return Task.CompletedTask;
        }

        /// <summary>The files backend keeps its runs' output with the experiment; the kill tests never read it.</summary>
        public Task<string> ReadLogAsync(TaskRef task, int? tailLines, CancellationToken cancellationToken) => Task.FromResult("");
        public Task RemoveAsync(TaskRef task, CancellationToken cancellationToken) => Task.CompletedTask;
        public BackendAbilities Abilities => BackendAbilities.None;
    }
}
