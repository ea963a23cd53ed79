using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// Turns a finished Ray job into the run's <see cref="TaskOutput"/>: Ray's status and times, and
    /// the experiment's last RAYRUNNER_RESULT line read from the job's log, which
    /// <see cref="RayLogArchive"/> reads once and keeps in the run store.
    /// </summary>
    internal sealed class RayJobOutcomeReader
    {
        readonly RayLogArchive _logs;

        public RayJobOutcomeReader(RayLogArchive logs) => _logs = logs;

        /// <summary>The run's output from a finished job: Ray's status, the job's times, and the last result line of its log.</summary>
        public async Task<TaskOutput> BuildAsync(string runId, string id, RayJobDetails details)
        {
            var started = details.StartedAt;
            var ended = details.EndedAt;
            var duration = started.HasValue && ended.HasValue ? Math.Max(0, (ended.Value - started.Value).TotalSeconds) : 0;

            if (details.Status == RayJobStatus.Stopped)
            {
                await KeepLogOfStoppedAsync(runId, id).ConfigureAwait(false);
                return new TaskOutput
                {
                    RunId = runId, Status = RunStatus.Cancelled, StartedAt = started, CompletedAt = ended, DurationSeconds = duration,
                    ErrorMessage = "The Ray job was stopped." + (string.IsNullOrWhiteSpace(details.Message) ? "" : " " + details.Message!.Trim()),
                };
            }

            LogLineScanner? log = null;
            string? readProblem = null;
            try
            {
                log = (await _logs.ReadAndKeepAsync(runId, id).ConfigureAwait(false)).Scanner;
            }
            catch (Exception ex) when (details.Status == RayJobStatus.Failed && !(ex is OperationCanceledException))
            {
                readProblem = ex.Message; // the failure itself is the news; the log was a bonus
            }

            var parsed = log?.LastResult;
            string status;
            string? error;
            if (details.Status == RayJobStatus.Succeeded)
            {
                // SUCCEEDED is completed unless the experiment's own result line says otherwise.
                status = parsed?.Status ?? RunStatus.Completed;
                error = parsed?.ErrorMessage ?? (log?.Problem != null ? "The job succeeded, but " + log.Problem + "." : null);
            }
            else
            {
                status = RunStatus.Failed;
                var rayText = DescribeFailure(details);
                error = parsed?.ErrorMessage != null ? parsed.ErrorMessage + " (" + rayText + ")" : rayText;
                if (readProblem != null) error += $" Its log could not be read: {readProblem}";
            }

            return new TaskOutput
            {
                RunId = runId,
                Status = status,
                Metrics = parsed?.Metrics ?? new Dictionary<string, double>(),
                TextMetrics = parsed?.TextMetrics.Count > 0 ? parsed.TextMetrics : null,
                CheckpointUri = parsed?.CheckpointUri,
                ErrorMessage = error,
                StartedAt = started,
                CompletedAt = ended,
                DurationSeconds = duration,
            };
        }

        /// <summary>A stopped job's log is kept too (it says how far the run got); failing to read it changes nothing.</summary>
        async Task KeepLogOfStoppedAsync(string runId, string id)
        {
            if (_logs.PathFor(runId) == null) return;
            try
            {
                await _logs.ReadAndKeepAsync(runId, id).ConfigureAwait(false);
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                // The stop is the news; the log was a bonus.
            }
        }

        static string DescribeFailure(RayJobDetails d)
        {
            var parts = new List<string>();
            if (!string.IsNullOrEmpty(d.ErrorType)) parts.Add(d.ErrorType!);
            if (d.DriverExitCode.HasValue) parts.Add("exit code " + d.DriverExitCode.Value.ToString(CultureInfo.InvariantCulture));
            var head = "The Ray job failed" + (parts.Count > 0 ? " (" + string.Join(", ", parts) + ")" : "");
            var message = (d.Message ?? "").Trim();
            if (message.Length > 2000) message = "..." + message.Substring(message.Length - 2000);
            return message.Length > 0 ? head + ": " + message : head + ".";
        }
    }
}
