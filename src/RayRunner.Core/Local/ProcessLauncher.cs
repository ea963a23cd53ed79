using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace RayRunner.Core.Local
{
    /// <summary>How one run is to be started: the start info and what to remember about it.</summary>
    internal sealed class LaunchPlan
    {
        public LaunchPlan(ProcessStartInfo startInfo, LaunchMode mode, bool sessionLeader, string program, IReadOnlyList<string>? spawnArgv = null)
        {
            StartInfo = startInfo;
            Mode = mode;
            SessionLeader = sessionLeader;
            Program = program;
            SpawnArgv = spawnArgv;
        }

        public ProcessStartInfo StartInfo { get; }
        public LaunchMode Mode { get; }
        /// <summary>The root process leads its own session (posix_spawn's SETSID, or setsid): every descendant can be found through it.</summary>
        public bool SessionLeader { get; }
        /// <summary>argv[0] as the user wrote it, for messages.</summary>
        public string Program { get; }
        /// <summary>
        /// When set, the run is started with <see cref="SessionSpawn"/> (this argv, with the start
        /// info's environment and working directory) instead of through <see cref="StartInfo"/>.
        /// </summary>
        public IReadOnlyList<string>? SpawnArgv { get; }
    }

    /// <summary>
    /// Turns a run's spec into a process start: the experiment contract of design.md (argv with no
    /// shell, RAYRUNNER_* environment, working directory, output to the run's log).
    /// </summary>
    /// <remarks>
    /// <para><b>Unix: detached.</b> The child is started through a fixed /bin/sh trampoline (see
    /// <see cref="Trampoline"/>), in its own session: on Linux spawned straight into one
    /// (<see cref="SessionSpawn"/>, no extra exec), elsewhere through <c>setsid</c> when it exists.
    /// The trampoline points
    /// stdout and stderr at the log file itself and writes the exit code to the exit file. So the
    /// child holds no pipe to this process: when the host (a PowerShell session, a runbook worker)
    /// exits or is killed, the run carries on, and any process can later find its result from the
    /// files named in its TaskRef locator. Being in its own session also keeps a Ctrl+C or a closed
    /// terminal aimed at the host from reaching the run, and lets a cancel find every descendant.
    /// The user's words are positional parameters of the trampoline ("$@"), never parsed by the shell.</para>
    /// <para><b>Windows: piped.</b> There is no /bin/sh, and cmd.exe cannot take arbitrary text
    /// safely, so the program is started directly and its output copied from pipes into the log by
    /// this process, which also records the exit code. The trade-off: such a run depends on its host;
    /// if the host dies, the run loses its output (and usually dies at its next write), and a
    /// process that re-attaches reports it as having died with its host.</para>
    /// </remarks>
    internal static class ProcessLauncher
    {
        /// <summary>
        /// Fixed text: $1 is the log, $2 the exit file, $3 the claim file, the rest the command. Only
        /// shell builtins, so a PATH set by the run cannot change what it does. Before anything runs,
        /// the process claims the run by creating the claim file exclusively (noclobber is O_EXCL);
        /// if another launch of the same run claimed it first, it exits with
        /// <see cref="LostClaimExitCode"/> having run nothing, and its host follows the winner.
        /// </summary>
        internal const string Trampoline =
            "exec >>\"$1\" 2>&1 </dev/null\n" +
            "exit_file=$2\n" +
            "set -C\n" +
            "{ printf '%s\\n' \"$$\" >\"$3\"; } 2>/dev/null || exit " + LostClaimExitCodeText + "\n" +
            "set +C\n" +
            "shift 3\n" +
            "\"$@\" " + ExitSignalClosed + "\n" +
            "rc=$?\n" +
            "printf '%s\\n' \"$rc\" >\"$exit_file\"\n" +
            "exit \"$rc\"\n";

        internal const string TrampolineName = "rayrunner-run";

        /// <summary>The command does not get the end-of-run pipe (<see cref="SessionSpawn"/>): only the trampoline's own exit ends it.</summary>
        const string ExitSignalClosed = "3>&-";

        /// <summary>What a launch that lost the claim exits with (EX_TEMPFAIL); it never writes the exit file.</summary>
        internal const int LostClaimExitCode = 75;
        const string LostClaimExitCodeText = "75";
        const string PosixShell = "/bin/sh";

        static readonly bool OnWindows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        /// <summary>setsid from util-linux, at a fixed place (never looked up on a PATH a run could change).</summary>
        static readonly Lazy<string?> Setsid = new Lazy<string?>(() =>
            OnWindows ? null : new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists));

        /// <summary>Whether a detached run started in <paramref name="mode"/> here leads a session of its own.</summary>
        public static bool StartsSessions(LaunchMode mode) =>
            mode == LaunchMode.Detached && !OnWindows && (SessionSpawn.IsSupported || Setsid.Value != null);

        /// <param name="gpuIds">The GPU ids granted, or null when this backend does not manage GPUs (then CUDA_VISIBLE_DEVICES is left as it is).</param>
        /// <param name="error">Why the run cannot start (a command that does not exist, ...); the plan is then null.</param>
        public static LaunchPlan? Plan(TaskSpec spec, IReadOnlyList<string>? gpuIds, RunFiles files, LaunchMode mode, Func<string, string?> hostEnvironment, out string? error)
        {
            error = null;
            var argv = spec.Arguments();
            if (argv.Count == 0 || argv[0].Length == 0)
            {
                error = "The entrypoint expanded to no command. Give the program to run as its first word, for example 'python train.py {overrides}'.";
                return null;
            }
            var program = argv[0];

            var workingDirectory = string.IsNullOrEmpty(spec.WorkingDirectory) ? Directory.GetCurrentDirectory() : Path.GetFullPath(spec.WorkingDirectory!);
            if (!Directory.Exists(workingDirectory))
            {
                error = $"The working directory '{workingDirectory}' does not exist. Give an existing folder as the working directory.";
                return null;
            }

            var environment = ChildEnvironment(spec, gpuIds);
            if (argv.Any(a => a.IndexOf('\0') >= 0) || environment.Any(kv => kv.Value.IndexOf('\0') >= 0 || kv.Key.IndexOf('\0') >= 0))
            {
                error = "A value for the command or its environment holds a NUL character, which no process argument or environment variable can carry. Remove it from the config.";
                return null;
            }

            // What the child actually executes: the user's argv, or a shell running the user's line.
            string executable;
            IReadOnlyList<string> rest;
            string? cmdArguments = null;
            if (spec.UseShell)
            {
                if (OnWindows)
                {
                    var line = ShellCommand.ForCmd(spec, out error);
                    if (line == null) return null;
                    executable = hostEnvironment("ComSpec") ?? "cmd.exe";
                    // cmd /s /c strips the outer quotes and runs the rest as typed.
                    cmdArguments = "/d /s /c \"" + line + "\"";
                    rest = new string[0];
                }
                else
                {
                    executable = PosixShell;
                    rest = new[] { "-c", ShellCommand.ForPosix(spec) };
                }
            }
            else
            {
                environment.TryGetValue("PATH", out var childPath);
                var found = ProgramLocator.Find(program, workingDirectory, childPath ?? hostEnvironment("PATH"), OnWindows, hostEnvironment("PATHEXT"));
                if (found == null)
                {
                    error = NotFound(program, workingDirectory);
                    return null;
                }
                if (OnWindows && (found.EndsWith(".bat", StringComparison.OrdinalIgnoreCase) || found.EndsWith(".cmd", StringComparison.OrdinalIgnoreCase)))
                {
                    // Windows hands a batch file's arguments to cmd.exe, which would interpret them.
                    error = $"The command '{program}' is a batch file ({found}); Windows passes its arguments through cmd.exe, which would interpret characters in config values. Call the program it wraps directly (for example python.exe), or opt into the shell explicitly.";
                    return null;
                }
                executable = found;
                rest = argv.Skip(1).ToList();
            }

            var startInfo = new ProcessStartInfo
            {
                UseShellExecute = false,
                CreateNoWindow = true,
                WorkingDirectory = workingDirectory,
            };
            var sessionLeader = false;
            List<string>? spawnArgv = null;
            if (mode == LaunchMode.Detached)
            {
                var trampolineArgs = new List<string> { "-c", Trampoline, TrampolineName, files.Log, files.Exit, files.Started, executable };
                trampolineArgs.AddRange(rest);
                var setsid = Setsid.Value;
                if (SessionSpawn.IsSupported)
                {
                    // Straight into a new session: no setsid exec (see SessionSpawn).
                    spawnArgv = new List<string> { PosixShell };
                    spawnArgv.AddRange(trampolineArgs);
                    sessionLeader = true;
                }
                else if (setsid != null)
                {
                    startInfo.FileName = setsid;
                    trampolineArgs.Insert(0, PosixShell);
                    sessionLeader = true;
                }
                else
                {
                    startInfo.FileName = PosixShell;
                }
                startInfo.Arguments = CommandLine.Join(trampolineArgs);
            }
            else
            {
                startInfo.FileName = executable;
                startInfo.Arguments = cmdArguments ?? CommandLine.Join(rest);
                startInfo.RedirectStandardInput = true;
                startInfo.RedirectStandardOutput = true;
                startInfo.RedirectStandardError = true;
            }

            foreach (var kv in environment) startInfo.Environment[kv.Key] = kv.Value;
            return new LaunchPlan(startInfo, mode, sessionLeader, program, spawnArgv);
        }

        /// <summary>
        /// The contract variables and the user's, plus CUDA_VISIBLE_DEVICES when GPUs are managed (an
        /// empty value for a run that asked for none, so it cannot take another run's GPU), and
        /// PYTHONUNBUFFERED=1 unless set, so a Python run's progress reaches the log as it happens.
        /// </summary>
        static Dictionary<string, string> ChildEnvironment(TaskSpec spec, IReadOnlyList<string>? gpuIds)
        {
            var env = new Dictionary<string, string>(OnWindows ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
            foreach (var kv in spec.ContractEnvironment()) env[kv.Key] = kv.Value;
            if (gpuIds != null) env[GpuInventory.CudaVisibleDevices] = string.Join(",", gpuIds);
            if (!env.ContainsKey("PYTHONUNBUFFERED") && Environment.GetEnvironmentVariable("PYTHONUNBUFFERED") == null)
                env["PYTHONUNBUFFERED"] = "1";
            return env;
        }

        static string NotFound(string program, string workingDirectory)
        {
            var hasDirectory = program.IndexOf('/') >= 0 || (OnWindows && program.IndexOf('\\') >= 0) || Path.IsPathRooted(program);
            return hasDirectory
                ? $"The command '{program}' was not found: there is no such file (looked for {Path.GetFullPath(Path.Combine(workingDirectory, program))}). Check the first word of the entrypoint."
                : $"The command '{program}' was not found on PATH. Check the first word of the entrypoint, install the program, or give its full path.";
        }
    }
}
