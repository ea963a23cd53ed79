using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace RayRunner.Tests.Unit.Ray.StandIn
{
    /// <summary>
    /// The job lifecycle, as Ray's JobManager and JobSupervisor run it: submit answers while the job
    /// is PENDING; the supervisor comes up later; the driver starts once its entrypoint resources
    /// fit; a stop is SIGTERM then SIGKILL after a grace period; a job PENDING past the start
    /// timeout fails.
    /// </summary>
    public sealed partial class RayDashboardStandIn
    {
        HashSet<string> KnownFields()
        {
            var v = RayRunner.Core.Ray.RayVersionInfo.ParseLoose(Settings.RayVersion);
            var known = new HashSet<string>(StringComparer.Ordinal) { "entrypoint", "submission_id", "job_id", "runtime_env", "metadata" };
            if (v >= new Version(2, 2)) known.UnionWith(new[] { "entrypoint_num_cpus", "entrypoint_num_gpus", "entrypoint_resources" });
            if (v >= new Version(2, 8)) known.Add("entrypoint_memory");
            if (v >= new Version(2, 54)) known.Add("entrypoint_label_selector");
            return known;
        }

        async Task SubmitAsync(HttpContext ctx)
        {
            string body;
            using (var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8)) body = await reader.ReadToEndAsync();
            JsonDocument doc;
            try { doc = JsonDocument.Parse(body); }
            catch (JsonException ex) { await Text(ctx, 400, Traceback($"json.decoder.JSONDecodeError: {ex.Message}")); return; }
            using var parsed = doc;
            var request = StandInSubmitRequest.Read(doc.RootElement, KnownFields(), out var invalid);
            if (request == null) { await Text(ctx, 400, Traceback(invalid!)); return; }

            var id = request.SubmissionId ?? "raysubmit_" + Guid.NewGuid().ToString("N")[..16];
            _posts.AddOrUpdate(id, 1, (_, n) => n + 1);

            if (Interlocked.Increment(ref _noAgentAnswered) <= Settings.NoAgentSubmits)
            {
                await Text(ctx, 500, Traceback("RuntimeError: Failed to submit job: No available agent to submit job, please try again later."));
                return;
            }

            StandInJob? job = null;
            lock (_gate)
            {
                if (_jobs.ContainsKey(id)) _duplicates.AddOrUpdate(id, 1, (_, n) => n + 1);
                else
                {
                    job = new StandInJob(id)
                    {
                        Entrypoint = request.Entrypoint,
                        EnvVars = request.EnvVars,
                        Metadata = request.Metadata,
                        RuntimeEnvJson = request.RuntimeEnvJson,
                        WorkingDirUri = request.WorkingDir,
                        NumCpus = request.NumCpus,
                        NumGpus = request.NumGpus,
                        MemoryBytes = request.MemoryBytes,
                        Resources = request.Resources,
                        RequestBody = body,
                        StartTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                        LogPath = Path.Combine(_root, "job-driver-" + SafeName(id) + ".log"),
                    };
                    _jobs[id] = job;
                    _pendingOrder.Add(job);
                    _created.AddOrUpdate(id, 1, (_, n) => n + 1);
                    var active = _jobs.Values.Count(j => !j.IsTerminal);
                    if (active > MaxActive) MaxActive = active;
                }
            }
            if (job == null)
            {
                await Text(ctx, 500, Traceback($"RuntimeError: Request failed with status code 400: " + Traceback($"ValueError: Job with submission_id {id} already exists. {DuplicatePhrase}.")));
                return;
            }
            // Answered while PENDING: the supervisor comes up afterwards, and the start timeout runs from start_time.
            _ = BringUpSupervisorAsync(job);
            _ = EnforceStartTimeoutAsync(job);
            await Json(ctx, 200, new { job_id = id, submission_id = id });
        }

        async Task BringUpSupervisorAsync(StandInJob job)
        {
            try
            {
                await Task.Yield();
                if (Settings.SupervisorStartDelay > TimeSpan.Zero) await Task.Delay(Settings.SupervisorStartDelay, _lifetime.Token);
            }
            catch (OperationCanceledException) { return; }
            job.SupervisorStarted = true;
            Schedule();
        }

        async Task EnforceStartTimeoutAsync(StandInJob job)
        {
            try { await Task.Delay(Settings.StartTimeout, _lifetime.Token); }
            catch (OperationCanceledException) { return; }
            if (job.Status != "PENDING") return;
            if (!File.Exists(job.LogPath)) File.WriteAllText(job.LogPath, "");
            var seconds = Settings.StartTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            Finish(job, "FAILED",
                $"Job supervisor actor failed to start within {seconds} seconds. This timeout can be configured by setting the environment variable RAY_JOB_START_TIMEOUT_SECONDS.",
                "JOB_SUPERVISOR_ACTOR_START_TIMEOUT", null, onlyIf: "PENDING");
        }

        static string SafeName(string id) => new string(id.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());

        string ClusterStatusText()
        {
            double usedSlots, usedCpus;
            lock (_gate) (usedSlots, usedCpus) = Usage();
            var sb = new StringBuilder();
            sb.Append("======== Autoscaler status: 2026-01-01 00:00:00.000000 ========\nNode status\n---------------------------------------------------------------\nActive:\n 1 node_standin\nPending:\n (no pending nodes)\nRecent failures:\n (no failures)\n\nResources\n---------------------------------------------------------------\nUsage:\n");
            sb.Append(CultureInfo.InvariantCulture, $" {usedCpus:0.0}/{Settings.Cpus:0.0} CPU\n");
            if (Settings.ExperimentSlots is double slots) sb.Append(CultureInfo.InvariantCulture, $" {usedSlots:0.0}/{slots:0.0} experiment_slot\n");
            sb.Append(" 0B/2.33GiB memory\n 0B/1.00GiB object_store_memory\n\nDemands:\n (no resource demands)\n");
            return sb.ToString();
        }

        (double Slots, double Cpus) Usage()
        {
            double slots = 0, cpus = 0;
            foreach (var j in _jobs.Values)
                if (j.Status == "RUNNING")
                {
                    cpus += j.NumCpus;
                    slots += j.Resources.TryGetValue("experiment_slot", out var s) ? s : 0;
                }
            return (slots, cpus);
        }

        /// <summary>Starts PENDING jobs whose supervisor is up, in submission order, when their entrypoint resources fit.</summary>
        void Schedule()
        {
            if (Volatile.Read(ref _disposed) != 0) return;
            var toStart = new List<StandInJob>();
            lock (_gate)
            {
                var (slots, cpus) = Usage();
                foreach (var job in _pendingOrder.ToList())
                {
                    if (job.Status != "PENDING") { _pendingOrder.Remove(job); continue; }
                    if (!job.SupervisorStarted) continue;
                    var wantSlots = job.Resources.TryGetValue("experiment_slot", out var s) ? s : 0;
                    var fits = cpus + job.NumCpus <= Settings.Cpus
                        && (wantSlots == 0 || (Settings.ExperimentSlots is double total && slots + wantSlots <= total))
                        && job.Resources.Keys.All(k => k == "experiment_slot")
                        && job.NumGpus == 0;
                    if (!fits) continue;
                    job.Status = "RUNNING";
                    job.Message = "Job is currently running.";
                    slots += wantSlots;
                    cpus += job.NumCpus;
                    _pendingOrder.Remove(job);
                    toStart.Add(job);
                }
                var running = _jobs.Values.Count(j => j.Status == "RUNNING");
                if (running > MaxRunning) MaxRunning = running;
            }
            foreach (var job in toStart) StartDriver(job);
        }

        void StartDriver(StandInJob job)
        {
            try
            {
                var cwd = Path.Combine(_root, "run-" + SafeName(job.SubmissionId));
                Directory.CreateDirectory(cwd);
                if (job.WorkingDirUri != null)
                {
                    if (!_packages.TryGetValue(job.WorkingDirUri, out var zip))
                    {
                        File.WriteAllText(job.LogPath, "");
                        Finish(job, "FAILED", $"Job set up failed: the runtime_env package {job.WorkingDirUri} does not exist in the GCS.", "RUNTIME_ENV_SETUP_FAILURE", null);
                        return;
                    }
                    using var archive = new ZipArchive(new MemoryStream(zip));
                    archive.ExtractToDirectory(cwd);
                }
                job.RunDirectory = cwd;
                // The driver leads its own process group, so a stop's signal reaches every descendant.
                var psi = new ProcessStartInfo(StandInSignals.Setsid ?? "/bin/sh")
                {
                    UseShellExecute = false,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    RedirectStandardInput = true,
                    WorkingDirectory = cwd,
                };
                if (StandInSignals.Setsid != null) psi.ArgumentList.Add("/bin/sh");
                psi.ArgumentList.Add("-c");
                // Ray's supervisor gives the driver one file for stdout and stderr, so their order is
                // kept; two pipes pumped apart would interleave them at random.
                psi.ArgumentList.Add("exec 2>&1\n" + job.Entrypoint);
                foreach (var kv in job.EnvVars) psi.Environment[kv.Key] = kv.Value;
                psi.Environment["RAY_ADDRESS"] = "127.0.0.1:6379";
                psi.Environment["PYTHONUNBUFFERED"] = "1";

                var log = new FileStream(job.LogPath, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
                var process = Process.Start(psi)!;
                process.StandardInput.Close();
                job.Process = process;
                job.Pid = process.Id;
                var gate = new object();
                async Task Pump(Stream from)
                {
                    var buffer = new byte[8192];
                    int n;
                    while ((n = await from.ReadAsync(buffer)) > 0)
                        lock (gate) { log.Write(buffer, 0, n); log.Flush(); }
                }
                var pumps = Task.WhenAll(Pump(process.StandardOutput.BaseStream), Pump(process.StandardError.BaseStream));
                _ = Task.Run(async () =>
                {
                    await process.WaitForExitAsync();
                    try { await pumps; } catch (IOException) { }
                    lock (gate) log.Dispose();
                    if (Volatile.Read(ref _disposed) != 0) { process.Dispose(); return; }
                    var code = process.ExitCode;
                    if (job.StopRequested) Finish(job, "STOPPED", "Job was intentionally stopped.", null, code);
                    else if (code == 0) Finish(job, "SUCCEEDED", "Job finished successfully.", null, 0);
                    else Finish(job, "FAILED", $"Job entrypoint command failed with exit code {code}, last available logs (truncated to 20,000 chars):\n{LastLines(job.LogPath, 10)}", "JOB_ENTRYPOINT_COMMAND_ERROR", code);
                    process.Dispose();
                });
            }
            catch (Exception ex)
            {
                if (!File.Exists(job.LogPath)) File.WriteAllText(job.LogPath, "");
                Finish(job, "FAILED", "Job entrypoint command failed to start: " + ex.Message, "JOB_ENTRYPOINT_COMMAND_START_ERROR", null);
            }
        }

        static string LastLines(string path, int n)
        {
            try { return string.Join("\n", File.ReadAllLines(path).TakeLast(n)); }
            catch (IOException) { return ""; }
        }

        /// <summary>Makes the job terminal (once; terminal states never change), when it is still <paramref name="onlyIf"/> if given.</summary>
        void Finish(StandInJob job, string status, string message, string? errorType, int? exitCode, string? onlyIf = null)
        {
            lock (_gate)
            {
                if (job.IsTerminal || (onlyIf != null && job.Status != onlyIf)) return;
                job.Message = message;
                job.ErrorType = errorType;
                job.DriverExitCode = exitCode;
                job.EndTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                job.Status = status;
                _pendingOrder.Remove(job);
            }
            job.Ended.TrySetResult(true);
            Schedule();
        }

        object Details(StandInJob j) => new Dictionary<string, object?>
        {
            ["type"] = "SUBMISSION",
            ["job_id"] = null,
            ["submission_id"] = j.SubmissionId,
            ["driver_info"] = null,
            ["status"] = j.Status,
            ["entrypoint"] = j.Entrypoint,
            ["message"] = j.Message,
            ["error_type"] = j.ErrorType,
            ["start_time"] = j.StartTime,
            ["end_time"] = j.EndTime,
            ["metadata"] = j.Metadata,
            ["runtime_env"] = JsonDocument.Parse(j.RuntimeEnvJson).RootElement.Clone(),
            ["driver_agent_http_address"] = j.Status == "PENDING" ? null : "http://127.0.0.1:52365",
            ["driver_node_id"] = j.Status == "PENDING" ? null : "node_standin",
            ["driver_exit_code"] = j.DriverExitCode,
        };

        /// <summary>A DRIVER-type job (a plain ray.init script): no submission id; Ray derives RUNNING or SUCCEEDED from the GCS.</summary>
        static object DriverDetails(string hexId, bool running) => new Dictionary<string, object?>
        {
            ["type"] = "DRIVER",
            ["job_id"] = hexId,
            ["submission_id"] = null,
            ["driver_info"] = new Dictionary<string, object?> { ["id"] = hexId, ["node_ip_address"] = "127.0.0.1", ["pid"] = "4242" },
            ["status"] = running ? "RUNNING" : "SUCCEEDED",
            ["entrypoint"] = "",
            ["message"] = null,
            ["error_type"] = null,
            ["start_time"] = 1767225600000L,
            ["end_time"] = running ? null : 1767225610000L,
            ["metadata"] = new Dictionary<string, string>(),
            ["runtime_env"] = new Dictionary<string, object>(),
            ["driver_agent_http_address"] = null,
            ["driver_node_id"] = "node_standin",
            ["driver_exit_code"] = null,
        };

        /// <summary>The hex job ids of the DRIVER jobs the cluster lists (01000000, 02000000, ...).</summary>
        IEnumerable<string> DriverIds() => Enumerable.Range(1, Settings.DriverJobs).Select(i => i.ToString("x2", CultureInfo.InvariantCulture) + "000000");

        bool IsDriver(string id) => DriverIds().Contains(id, StringComparer.Ordinal);

        IEnumerable<object> ListDetails() =>
            DriverIds().Select((hex, i) => DriverDetails(hex, running: i % 2 == 0)).Concat(AllJobs().Select(Details));

        async Task GetJobAsync(HttpContext ctx, string id)
        {
            if (IsDriver(id)) { await Json(ctx, 200, DriverDetails(id, running: true)); return; }
            var job = Job(id);
            if (job == null) { await Text(ctx, 404, $"Job {id} does not exist"); return; }
            await Json(ctx, 200, Details(job));
        }

        /// <summary>
        /// job_supervisor.py: false when there is no supervisor (the job is over, or its actor is not
        /// up yet); true otherwise. A running driver gets SIGTERM, SIGKILL after the grace period,
        /// and the job becomes STOPPED when it has exited. A PENDING job with a supervisor is stopped
        /// at once, unless <see cref="StandInSettings.IgnoreStopWhilePending"/> (ray#58353).
        /// </summary>
        async Task StopAsync(HttpContext ctx, string id)
        {
            if (IsDriver(id)) { await Text(ctx, 400, Traceback($"ValueError: Job {id} is a DRIVER job; only SUBMISSION jobs can be stopped.")); return; }
            var job = Job(id);
            if (job == null) { await Text(ctx, 404, $"Job {id} does not exist"); return; }
            bool stopped;
            var stopPending = false;
            Process? process = null;
            lock (_gate)
            {
                stopped = !job.IsTerminal && job.SupervisorStarted;
                if (stopped && !(job.Status == "PENDING" && Settings.IgnoreStopWhilePending))
                {
                    job.StopRequested = true;
                    process = job.Process;
                    stopPending = process == null;
                }
                if (stopped) Interlocked.Increment(ref _stopsAccepted);
            }
            if (stopPending) Finish(job, "STOPPED", "Job was intentionally stopped.", null, null);
            else if (process != null) _ = TerminateAsync(job, process);
            await Json(ctx, 200, new { stopped });
        }

        /// <summary>SIGTERM to the driver's group; SIGKILL if it is still there after the grace period (the exit handler records STOPPED).</summary>
        async Task TerminateAsync(StandInJob job, Process process)
        {
            int pid;
            try { pid = process.Id; }
            catch (InvalidOperationException) { return; }
            StandInSignals.Send(pid, StandInSignals.SigTerm);
            try { await job.EndedTask.WaitAsync(Settings.StopGracePeriod, _lifetime.Token); }
            catch (TimeoutException) { StandInSignals.Send(pid, StandInSignals.SigKill); }
            catch (OperationCanceledException) { }
        }

        async Task DeleteAsync(HttpContext ctx, string id)
        {
            if (IsDriver(id)) { await Text(ctx, 400, Traceback($"ValueError: Job {id} is a DRIVER job; only SUBMISSION jobs can be deleted.")); return; }
            var job = Job(id);
            if (job == null) { await Text(ctx, 404, $"Job {id} does not exist"); return; }
            if (!job.IsTerminal)
            {
                await Text(ctx, 500, Traceback($"RuntimeError: Attempted to delete job with id '{id}', but it is in a non-terminal state {job.Status}."));
                return;
            }
            lock (_gate) _jobs.Remove(id);
            await Json(ctx, 200, new { deleted = true });
        }
    }
}
