using System;
using System.IO;
using System.Runtime.InteropServices;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// Where one backend instance keeps its runs' files, and the locators that let any process find
    /// a run again by them: one for a run this instance has, one for a bare reference (a run id only).
    /// </summary>
    internal sealed class RunLocators
    {
        static readonly bool OnWindows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        readonly Func<string, string> _logPathFor;
        readonly LaunchMode _mode;
        readonly int _hostPid = ProcessIdentity.Current.Pid;
        readonly string? _hostIdentity = ProcessIdentity.Current.StartTime;

        /// <param name="logPathFor">A run id's log path; null: a fresh temporary folder per instance.</param>
        public RunLocators(Func<string, string>? logPathFor, string? logDirectory, LaunchMode mode)
        {
            _logPathFor = logPathFor ?? DefaultLogPaths(logDirectory);
            _mode = mode;
        }

        /// <summary>The files of a run, where this instance keeps them.</summary>
        public RunFiles FilesOf(string runId) => RunFiles.ForLog(_logPathFor(runId));

        /// <summary>The locator of a run this instance has (started or not).</summary>
        public LocalLocator Of(LocalRun run)
        {
            var locator = New(run.Files, run.Program);
            locator.Mode = run.Mode;
            if (run.State == LocalRunState.Running || run.Pid != 0)
            {
                locator.Pid = run.Pid;
                locator.ProcessStart = run.Identity;
                locator.Session = run.SessionLeader;
            }
            else
            {
                // Not started yet: a session leader if and when it starts (the pid file will say where).
                locator.Session = ProcessLauncher.StartsSessions(_mode);
            }
            return locator;
        }

        /// <summary>
        /// The locator a reference carries, or, for a bare reference (the runner asking by run id
        /// whether a process that died mid-hand-over got the run here), the one the run's files give.
        /// Only a run never started is unknown (and is then submitted again).
        /// </summary>
        public LocalLocator For(TaskRef task)
        {
            var given = LocalLocator.From(task.Locator);
            if (given != null) return given;
            var files = FilesOf(task.RunId);
            if (files.Exists) return New(files, null);
            throw new ArgumentException($"Run {task.RunId} is not known to this local backend and its reference carries no locator (no log path) to find it by.", nameof(task));
        }

        /// <summary>A locator for the run files, naming this process as the run's host.</summary>
        public LocalLocator New(RunFiles files, string? program) => new LocalLocator
        {
            Files = files,
            HostPid = _hostPid,
            HostStart = _hostIdentity,
            Mode = _mode,
            Program = program ?? "The command",
        };

        static Func<string, string> DefaultLogPaths(string? directory)
        {
            var root = directory ?? Path.Combine(Path.GetTempPath(), "rayrunner-local-" + Guid.NewGuid().ToString("N").Substring(0, 12));
            return runId => Path.Combine(root, runId, "run.log");
        }
    }
}
