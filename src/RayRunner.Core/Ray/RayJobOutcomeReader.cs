using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// Turns a finished Ray job into the run's <see cref="TaskOutput"/>: Ray's status and times, and
    /// the experiment's last RAYRUNNER_RESULT line read from the job's log (at most four logs read
    /// at once). Reads end when the backend is disposed (its lifetime token), never hang past it.
    /// </summary>
    internal sealed class RayJobOutcomeReader
    {
        readonly RayJobsClient _client;
        readonly RayBackendOptions _options;
        readonly string _address;
        readonly CancellationToken _lifetime;
        readonly SemaphoreSlim _resultReads = new SemaphoreSlim(4);

        public RayJobOutcomeReader(RayJobsClient client, RayBackendOptions options, string address, CancellationToken lifetime)
        {
            _client = client;
            _options = options;
            _address = address;
            _lifetime = lifetime;
        }

        /// <summary>The run's output from a finished job: Ray's status, the job's times, and the last result line of its log.</summary>
        public async Task<TaskOutput> BuildAsync(string runId, string id, RayJobDetails details)
        {
            var started = details.StartedAt;
            var ended = details.EndedAt;
            var duration = started.HasValue && ended.HasValue ? Math.Max(0, (ended.Value - started.Value).TotalSeconds) : 0;

            if (details.Status == RayJobStatus.Stopped)
                return new TaskOutput
                {
                    RunId = runId, Status = RunStatus.Cancelled, StartedAt = started, CompletedAt = ended, DurationSeconds = duration,
                    ErrorMessage = "The Ray job was stopped." + (string.IsNullOrWhiteSpace(details.Message) ? "" : " " + details.Message!.Trim()),
                };

            LogLineScanner? log = null;
            string? readProblem = null;
            try
            {
                log = await ReadResultLineAsync(id).ConfigureAwait(false);
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

        /// <summary>
        /// The last result line of a finished job's log. Streams the tail WebSocket (bounded memory
        /// whatever the log's size); retries broken streams; falls back to a size-capped GET /logs
        /// when the WebSocket cannot be had at all (a proxy without upgrade support).
        /// </summary>
        async Task<LogLineScanner> ReadResultLineAsync(string id)
        {
            await _resultReads.WaitAsync(_lifetime).ConfigureAwait(false);
            try
            {
                Exception? last = null;
                for (var attempt = 0; attempt <= _options.MaxRetries; attempt++)
                {
                    if (attempt > 0) await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, _options.RetryDelay.TotalMilliseconds * Math.Pow(2, attempt - 1))), _lifetime).ConfigureAwait(false);
                    var scanner = new LogLineScanner();
                    try
                    {
                        if (await _client.TailLogsAsync(id, scanner.Feed, null, _lifetime).ConfigureAwait(false))
                        {
                            scanner.Complete();
                            return scanner;
                        }
                    }
                    catch (RayJobNotFoundException)
                    {
                        throw;
                    }
                    catch (Exception ex) when (ex is RayConnectionException || ex is RayApiException)
                    {
                        last = ex;
                    }
                }

                var logs = await _client.GetLogsAsync(id, _options.LogFallbackMaxBytes, _lifetime).ConfigureAwait(false)
                    ?? throw new RayJobNotFoundException(_address, id);
                var fallback = new LogLineScanner();
                fallback.Feed(logs);
                fallback.Complete();
                return fallback;
            }
            finally
            {
                _resultReads.Release();
            }
        }
    }
}
