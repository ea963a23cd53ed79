using System;
using System.Globalization;

namespace RayRunner.Core.Local
{
    /// <summary>Turns how a process ended, and what it printed, into the run's <see cref="TaskOutput"/>.</summary>
    /// <remarks>
    /// The mapping mirrors the Ray backend's, so a run means the same wherever it ran: exit code 0
    /// takes the status of the result line (completed when there is none); a non-zero exit code is
    /// failed whatever the line said (unless it said failed or timeout itself), with the line's
    /// metrics kept and an error that names the exit code and shows the last lines of the log.
    /// </remarks>
    internal static class RunOutcome
    {
        public const int LogLinesInErrors = 10;
        const int MaxTailCharacters = 2000;

        public static TaskOutput Cancelled(string runId, DateTimeOffset? startedAt, DateTimeOffset completedAt) =>
            Timed(TaskOutput.Failure(runId, RunStatus.Cancelled, "The run was cancelled; its processes were stopped."), startedAt, completedAt);

        public static TaskOutput NotStarted(string runId, string status, string message, DateTimeOffset at) =>
            Timed(TaskOutput.Failure(runId, status, message), null, at);

        public static TaskOutput FromExit(string runId, int exitCode, string program, RunFiles files, DateTimeOffset? startedAt, DateTimeOffset completedAt)
        {
            var scan = ResultLine.Scan(LogFile.ReadLinesBackward(files.Log));
            var reported = scan.Result;
            string status;
            string? error = reported?.ErrorMessage;
            if (exitCode == 0)
            {
                status = reported?.Status ?? RunStatus.Completed;
                if (status != RunStatus.Completed && error == null)
                    error = $"The experiment reported status '{status}' (it exited with code 0).";
                // A garbled last result line (cut short, bad JSON) must not pass for a clean run.
                if (error == null && scan.Problem != null)
                    error = BadResultLine(scan.Problem, reported != null, files);
            }
            else
            {
                status = reported?.Status == RunStatus.Timeout ? RunStatus.Timeout : RunStatus.Failed;
                var exited = $"{program} exited with code {exitCode.ToString(CultureInfo.InvariantCulture)}{Explain(exitCode)}.";
                error = (error == null ? exited : error + " (" + exited + ")") + LastLines(files);
            }
            return Timed(new TaskOutput
            {
                RunId = runId,
                Status = status,
                Metrics = reported?.Metrics ?? new System.Collections.Generic.Dictionary<string, double>(),
                TextMetrics = reported?.TextMetrics.Count > 0 ? reported.TextMetrics : null,
                CheckpointUri = reported?.CheckpointUri,
                ErrorMessage = error,
            }, startedAt, completedAt);
        }

        /// <summary>What the run's error says when its last result line could not be read.</summary>
        static string BadResultLine(string problem, bool usedAnEarlierLine, RunFiles files) =>
            $"The experiment exited with code 0, but {problem}; " +
            (usedAnEarlierLine ? "the result comes from an earlier, well-formed line. " : "so the run has no metrics. ") +
            $"Print the result as one complete line: {ResultLine.Marker} {{\"metrics\": {{...}}}}." + LastLines(files);

        /// <summary>The last lines of the log, for an error message; empty when the log is.</summary>
        public static string LastLines(RunFiles files)
        {
            string tail;
            try
            {
                tail = LogFile.Tail(files.Log, LogLinesInErrors).TrimEnd();
            }
            catch (System.IO.IOException)
            {
                return "";
            }
            if (tail.Length == 0) return " The log is empty.";
            if (tail.Length > MaxTailCharacters) tail = "..." + tail.Substring(tail.Length - MaxTailCharacters);
            return $" Last lines of the log ({files.Log}):\n{tail}";
        }

        static string Explain(int exitCode)
        {
            if (exitCode == 126) return " (the command could not be executed: is it a program, and executable?)";
            if (exitCode == 127) return " (command not found)";
            if (exitCode > 128 && exitCode < 160 && !System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Windows))
            {
                var signal = exitCode - 128;
                return $" (killed by signal {signal.ToString(CultureInfo.InvariantCulture)}{SignalName(signal)})";
            }
            return "";
        }

        static string SignalName(int signal) => signal switch
        {
            1 => ", SIGHUP",
            2 => ", SIGINT",
            6 => ", SIGABRT",
            9 => ", SIGKILL: stopped from outside, often by the out-of-memory killer",
            11 => ", SIGSEGV",
            13 => ", SIGPIPE",
            15 => ", SIGTERM",
            _ => "",
        };

        static TaskOutput Timed(TaskOutput output, DateTimeOffset? startedAt, DateTimeOffset completedAt) =>
            output.With(
                startedAt: startedAt,
                completedAt: completedAt,
                durationSeconds: startedAt.HasValue ? Math.Max(0, (completedAt - startedAt.Value).TotalSeconds) : 0);
    }
}
