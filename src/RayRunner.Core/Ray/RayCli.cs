using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// Runs the <c>ray</c> CLI (start/stop) as a plain child process: no shell, every argument quoted
    /// as one argv element, output kept (bounded) for error messages.
    /// </summary>
    internal static class RayCli
    {
        const int KeptOutputLines = 60;

        /// <summary>The first <c>ray</c> (ray.exe, ray.cmd… on Windows) in the PATH that <paramref name="env"/> gives.</summary>
        public static string? FindOnPath(Func<string, string?> env)
        {
            var path = env("PATH");
            if (string.IsNullOrEmpty(path)) return null;
            var windows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
            var names = windows
                ? (env("PATHEXT") ?? ".COM;.EXE;.BAT;.CMD").Split(';').Where(e => e.Length > 0).Select(e => "ray" + e.ToLowerInvariant()).ToArray()
                : new[] { "ray" };
            foreach (var dir in path!.Split(Path.PathSeparator))
            {
                if (dir.Length == 0) continue;
                foreach (var name in names)
                {
                    string candidate;
                    try { candidate = Path.Combine(dir.Trim('"'), name); }
                    catch (ArgumentException) { continue; }
                    if (File.Exists(candidate)) return candidate;
                }
            }
            return null;
        }

        public static int PathFolderCount(Func<string, string?> env) =>
            (env("PATH") ?? "").Split(Path.PathSeparator).Count(d => d.Length > 0);

        /// <summary>The result of one CLI call; <see cref="Output"/> is its last lines of stdout and stderr.</summary>
        public sealed class Result
        {
            public Result(int? exitCode, string output, bool timedOut)
            {
                ExitCode = exitCode;
                Output = output;
                TimedOut = timedOut;
            }

            public int? ExitCode { get; }
            public string Output { get; }
            public bool TimedOut { get; }
        }

        public static async Task<Result> RunAsync(string executable, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct)
        {
            var psi = new ProcessStartInfo(executable, string.Join(" ", args.Select(QuoteArgument)))
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                CreateNoWindow = true,
            };
            var lines = new Queue<string>();
            void Keep(string? line)
            {
                if (line == null) return;
                lock (lines)
                {
                    if (lines.Count == KeptOutputLines) lines.Dequeue();
                    lines.Enqueue(line);
                }
            }
            string Output()
            {
                lock (lines) return string.Join(Environment.NewLine, lines);
            }

            using var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
            var exited = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            process.Exited += (_, __) => exited.TrySetResult(true);
            var stdoutDone = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var stderrDone = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            process.OutputDataReceived += (_, e) => { if (e.Data == null) stdoutDone.TrySetResult(true); else Keep(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data == null) stderrDone.TrySetResult(true); else Keep(e.Data); };
            try
            {
                process.Start();
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception || ex is IOException)
            {
                throw new RayClusterException($"Could not run '{executable}': {ex.Message}. Check that Ray is installed and the file can be executed.", null, ex);
            }
            process.StandardInput.Close();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (process.HasExited) exited.TrySetResult(true);

            var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (ct.Register(() => cancelled.TrySetResult(true)))
            {
                var first = await Task.WhenAny(exited.Task, Task.Delay(timeout), cancelled.Task).ConfigureAwait(false);
                if (first != exited.Task)
                {
                    try { process.Kill(); } catch (InvalidOperationException) { }
                    ct.ThrowIfCancellationRequested();
                    return new Result(null, Output(), timedOut: true);
                }
            }
            // The last lines arrive with end of file; `ray start` leaves daemons behind that may hold
            // the pipes open, so wait for it only briefly.
            await Task.WhenAny(Task.WhenAll(stdoutDone.Task, stderrDone.Task), Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
            return new Result(process.ExitCode, Output(), timedOut: false);
        }

        /// <summary>
        /// Quotes one argument so the child sees it as exactly one argv element (the Windows
        /// CommandLineToArgvW rules, which .NET also applies on Unix to ProcessStartInfo.Arguments).
        /// </summary>
        public static string QuoteArgument(string arg) => CommandLine.QuoteIfNeeded(arg);
    }
}
