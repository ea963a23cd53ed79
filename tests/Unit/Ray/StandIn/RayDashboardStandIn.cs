using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RayRunner.Tests.Unit.Ray.StandIn
{
    /// <summary>Settings of a stand-in dashboard; change them before or between requests.</summary>
    public sealed class StandInSettings
    {
        /// <summary>ray_version: request fields newer than this are unknown to the stand-in (400), as on a real old cluster.</summary>
        public string RayVersion { get; set; } = "2.49.0";
        /// <summary>The Jobs API version ("4": DELETE exists).</summary>
        public string ApiVersion { get; set; } = "4";
        /// <summary>Token mode when set: no token is 401, a wrong one 403 (Ray 2.52+).</summary>
        public string? Token { get; set; }
        /// <summary>Total experiment_slot of the cluster; null: the cluster has no such resource (jobs asking for it stay PENDING).</summary>
        public double? ExperimentSlots { get; set; }
        /// <summary>Total CPUs; jobs whose entrypoint_num_cpus do not fit wait PENDING.</summary>
        public double Cpus { get; set; } = 1000;
        /// <summary>The first N submits answer 500 "No available agent" (the agent is still starting).</summary>
        public int NoAgentSubmits { get; set; }
        /// <summary>A misbehaving proxy: error bodies repeat the Authorization header (the client must scrub it).</summary>
        public bool EchoAuthorizationInErrors { get; set; }
        /// <summary>How often the tail WebSocket looks for new log text (Ray: 1 s).</summary>
        public TimeSpan LogPollInterval { get; set; } = TimeSpan.FromMilliseconds(25);
    }

    /// <summary>One request as the stand-in saw it.</summary>
    public sealed record StandInRequest(string Method, string Path, string? UserAgent, string? Authorization, IReadOnlyList<string> HeaderNames);

    /// <summary>
    /// An in-process stand-in for the Ray dashboard's Job Submission API (shared/ray/jobs-rest-api.md):
    /// Kestrel on 127.0.0.1, reachable from this process and from any other process on the machine.
    /// It keeps Ray's shapes and quirks (trailing-slash routes, text/plain error bodies, 500 on a
    /// duplicate submission_id, 400 on unknown fields, 405 to browser-like POST/PUT, 401/403 in token
    /// mode, PENDING until entrypoint resources fit, epoch-millisecond times, stop and delete rules,
    /// the logs route and the tail WebSocket) and really runs each entrypoint with /bin/sh -c and
    /// the job's env_vars. <see cref="Faults"/> injects failures.
    /// </summary>
    public sealed class RayDashboardStandIn : IAsyncDisposable, IDisposable
    {
        const string DuplicatePhrase = "Please use a different submission_id";

        readonly WebApplication _app;
        readonly string _root;
        readonly object _gate = new();
        readonly Dictionary<string, StandInJob> _jobs = new(StringComparer.Ordinal);
        readonly List<StandInJob> _pendingOrder = new();
        readonly ConcurrentDictionary<string, byte[]> _packages = new(StringComparer.Ordinal);
        readonly ConcurrentDictionary<string, int> _created = new(StringComparer.Ordinal);
        readonly ConcurrentDictionary<string, int> _duplicates = new(StringComparer.Ordinal);
        readonly ConcurrentDictionary<string, int> _posts = new(StringComparer.Ordinal);
        int _noAgentAnswered;
        int _disposed;

        RayDashboardStandIn(WebApplication app, string root, StandInSettings settings)
        {
            _app = app;
            _root = root;
            Settings = settings;
        }

        public StandInSettings Settings { get; }
        public StandInFaults Faults { get; } = new();
        public int Port { get; private set; }
        public string Address => "http://127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);
        public ConcurrentQueue<StandInRequest> Requests { get; } = new();

        /// <summary>Jobs created per submission id (the exactly-once check: never above 1).</summary>
        public IReadOnlyDictionary<string, int> JobsCreated => _created;
        /// <summary>Submits refused as duplicates, per id.</summary>
        public IReadOnlyDictionary<string, int> DuplicateSubmits => _duplicates;
        /// <summary>POST /api/jobs/ requests per id that reached the handler.</summary>
        public IReadOnlyDictionary<string, int> SubmitPosts => _posts;
        public IReadOnlyDictionary<string, byte[]> Packages => _packages;
        public int PackagePuts;
        /// <summary>The most jobs RUNNING at once.</summary>
        public int MaxRunning;

        public StandInJob? Job(string id)
        {
            lock (_gate) return _jobs.TryGetValue(id, out var j) ? j : null;
        }

        public IReadOnlyList<StandInJob> AllJobs()
        {
            lock (_gate) return _jobs.Values.ToList();
        }

        public int CountRequests(string method, Func<string, bool> path) => Requests.Count(r => r.Method == method && path(r.Path));

        /// <summary>Starts a stand-in on 127.0.0.1 (port 0: any free port).</summary>
        public static async Task<RayDashboardStandIn> StartAsync(StandInSettings? settings = null, int port = 0)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>() });
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(o =>
            {
                o.Listen(IPAddress.Loopback, port);
                o.Limits.MaxRequestBodySize = 100L * 1024 * 1024; // aiohttp client_max_size
            });
            var app = builder.Build();
            var root = Path.Combine(Path.GetTempPath(), "ray-standin-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(root);
            var standIn = new RayDashboardStandIn(app, root, settings ?? new StandInSettings());
            app.UseWebSockets();
            app.Run(standIn.HandleAsync);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            standIn.Port = new Uri(address).Port;
            return standIn;
        }

        // ------------------------------------------------------------------------------------
        // HTTP
        // ------------------------------------------------------------------------------------

        async Task HandleAsync(HttpContext ctx)
        {
            var method = ctx.Request.Method;
            var path = ctx.Request.Path.Value ?? "/";
            Requests.Enqueue(new StandInRequest(method, path, ctx.Request.Headers.UserAgent.FirstOrDefault(),
                ctx.Request.Headers.Authorization.FirstOrDefault(), ctx.Request.Headers.Keys.ToList()));

            var fault = Faults.Decide(new FaultRequest(method, path, ctx.WebSockets.IsWebSocketRequest));
            switch (fault)
            {
                case FaultKind.ServerError:
                    await Text(ctx, 500, Traceback("RuntimeError: injected fault (stand-in)"));
                    return;
                case FaultKind.Drop:
                    ctx.Abort();
                    return;
                case FaultKind.Stall:
                    try { await Task.Delay(Faults.StallFor, ctx.RequestAborted); } catch (OperationCanceledException) { }
                    ctx.Abort();
                    return;
                case FaultKind.LoseResponse:
                    ctx.Response.Body = new MemoryStream(); // the work happens; the answer never leaves
                    await RouteAsync(ctx, method, path);
                    ctx.Abort();
                    return;
            }
            await RouteAsync(ctx, method, path);
        }

        async Task RouteAsync(HttpContext ctx, string method, string path)
        {
            // Browser guard (http_server_head.py): every POST/PUT, whatever the route.
            if ((method == "POST" || method == "PUT") && path != "/api/authenticate" && LooksLikeBrowser(ctx.Request))
            {
                await Text(ctx, 405, "Method Not Allowed for browser traffic.");
                return;
            }
            if (Settings.Token != null && !IsOpenPath(path))
            {
                var presented = BearerOf(ctx.Request.Headers.Authorization.FirstOrDefault()) ?? BearerOf(ctx.Request.Headers["X-Ray-Authorization"].FirstOrDefault());
                if (presented == null) { await Text(ctx, 401, "Unauthorized: Missing authentication token"); return; }
                if (presented != Settings.Token)
                {
                    await Text(ctx, 403, "Forbidden: Invalid authentication token" + (Settings.EchoAuthorizationInErrors ? $" (got '{presented}')" : ""));
                    return;
                }
            }

            var segments = path.Split('/');
            // "/api/jobs/" splits to ["", "api", "jobs", ""]: the trailing slash is an empty last segment.
            switch (method, path)
            {
                case ("GET", "/api/version"):
                    await Json(ctx, 200, new { version = Settings.ApiVersion, ray_version = Settings.RayVersion, ray_commit = "standin", session_name = "session_standin" });
                    return;
                case ("GET", "/api/authentication_mode"):
                    await Json(ctx, 200, new { authentication_mode = Settings.Token == null ? "disabled" : "token" });
                    return;
                case ("GET", "/api/gcs_healthz"):
                    await Text(ctx, 200, "success");
                    return;
                case ("GET", "/api/cluster_status"):
                    await Json(ctx, 200, new { result = true, msg = "Got formatted cluster status.", data = new { clusterStatus = ClusterStatusText() } });
                    return;
                case ("GET", "/api/jobs/"):
                    await Json(ctx, 200, AllJobs().Select(Details).ToList());
                    return;
                case ("POST", "/api/jobs/"):
                    await SubmitAsync(ctx);
                    return;
            }

            if (segments.Length >= 4 && segments[1] == "api" && segments[2] == "jobs" && segments[3].Length > 0)
            {
                var id = segments[3];
                var rest = string.Join("/", segments.Skip(4));
                switch (method, rest)
                {
                    case ("GET", ""): await GetJobAsync(ctx, id); return;
                    case ("DELETE", ""): await DeleteAsync(ctx, id); return;
                    case ("POST", "stop"): await StopAsync(ctx, id); return;
                    case ("GET", "logs"): await LogsAsync(ctx, id); return;
                    case ("GET", "logs/tail"): await TailAsync(ctx, id); return;
                }
                if (rest is "" or "stop" or "logs" or "logs/tail") { await Text(ctx, 405, "405: Method Not Allowed"); return; }
            }
            if (segments.Length == 5 && segments[1] == "api" && segments[2] == "packages" && segments[4].Length > 0)
            {
                var key = segments[3] + "://" + segments[4];
                if (method == "GET")
                {
                    if (_packages.ContainsKey(key)) { ctx.Response.StatusCode = 200; return; }
                    await Text(ctx, 404, $"Package {key} does not exist");
                    return;
                }
                if (method == "PUT")
                {
                    if (!(segments[4].EndsWith(".zip") || segments[4].EndsWith(".whl")))
                    {
                        await Text(ctx, 500, Traceback($"ValueError: package name {segments[4]} must end in .zip or .whl"));
                        return;
                    }
                    using var ms = new MemoryStream();
                    await ctx.Request.Body.CopyToAsync(ms);
                    _packages[key] = ms.ToArray();
                    Interlocked.Increment(ref PackagePuts);
                    ctx.Response.StatusCode = 200;
                    return;
                }
            }
            await Text(ctx, 404, "404: Not Found");
        }

        static bool LooksLikeBrowser(HttpRequest request)
        {
            if (request.Headers.UserAgent.ToString().StartsWith("Mozilla", StringComparison.Ordinal)) return true;
            foreach (var h in new[] { "Referer", "Origin", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Fetch-Site", "Sec-Fetch-User", "Access-Control-Request-Method", "Access-Control-Request-Headers" })
                if (request.Headers.ContainsKey(h)) return true;
            return false;
        }

        static bool IsOpenPath(string path) =>
            path is "/" or "/favicon.ico" or "/api/authentication_mode" or "/api/authenticate" or "/api/healthz" or "/api/gcs_healthz" or "/api/local_raylet_healthz" or "/-/healthz"
            || path.StartsWith("/static/", StringComparison.Ordinal);

        static string? BearerOf(string? header) =>
            header != null && header.StartsWith("Bearer ", StringComparison.Ordinal) ? header.Substring(7) : null;

        // ------------------------------------------------------------------------------------
        // Jobs
        // ------------------------------------------------------------------------------------

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
            using var _ = doc;
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) { await Text(ctx, 400, Traceback("TypeError: JobSubmitRequest argument after ** must be a mapping")); return; }

            var known = KnownFields();
            foreach (var p in root.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.Null) continue; // the server drops null-valued keys
                if (!known.Contains(p.Name))
                {
                    await Text(ctx, 400, Traceback($"TypeError: JobSubmitRequest.__init__() got an unexpected keyword argument '{p.Name}'"));
                    return;
                }
            }
            if (!root.TryGetProperty("entrypoint", out var ep) || ep.ValueKind != JsonValueKind.String)
            {
                await Text(ctx, 400, Traceback("TypeError: JobSubmitRequest.__init__() missing 1 required positional argument: 'entrypoint'"));
                return;
            }
            var metadata = new Dictionary<string, string>();
            if (root.TryGetProperty("metadata", out var md) && md.ValueKind == JsonValueKind.Object)
                foreach (var p in md.EnumerateObject())
                {
                    if (p.Value.ValueKind != JsonValueKind.String) { await Text(ctx, 400, Traceback($"TypeError: metadata values must be strings, got {p.Value.ValueKind} for '{p.Name}'")); return; }
                    metadata[p.Name] = p.Value.GetString()!;
                }
            var resources = new Dictionary<string, double>();
            if (root.TryGetProperty("entrypoint_resources", out var rs) && rs.ValueKind == JsonValueKind.Object)
                foreach (var p in rs.EnumerateObject())
                {
                    if (p.Value.ValueKind != JsonValueKind.Number) { await Text(ctx, 400, Traceback($"TypeError: entrypoint_resources values must be numbers, got {p.Value.ValueKind}")); return; }
                    resources[p.Name] = p.Value.GetDouble();
                }

            var id = root.TryGetProperty("submission_id", out var sid) && sid.ValueKind == JsonValueKind.String ? sid.GetString()! : "raysubmit_" + Guid.NewGuid().ToString("N")[..16];
            _posts.AddOrUpdate(id, 1, (_, n) => n + 1);

            if (Interlocked.Increment(ref _noAgentAnswered) <= Settings.NoAgentSubmits)
            {
                await Text(ctx, 500, Traceback("RuntimeError: Failed to submit job: No available agent to submit job, please try again later."));
                return;
            }

            var env = new Dictionary<string, string>();
            string? workingDir = null;
            var runtimeEnvJson = "{}";
            if (root.TryGetProperty("runtime_env", out var re) && re.ValueKind == JsonValueKind.Object)
            {
                runtimeEnvJson = re.GetRawText();
                if (re.TryGetProperty("env_vars", out var ev) && ev.ValueKind == JsonValueKind.Object)
                    foreach (var p in ev.EnumerateObject()) env[p.Name] = p.Value.GetString() ?? "";
                if (re.TryGetProperty("working_dir", out var wd) && wd.ValueKind == JsonValueKind.String) workingDir = wd.GetString();
            }

            StandInJob job;
            lock (_gate)
            {
                if (_jobs.ContainsKey(id))
                {
                    _duplicates.AddOrUpdate(id, 1, (_, n) => n + 1);
                    job = null!;
                }
                else
                {
                    job = new StandInJob(id)
                    {
                        Entrypoint = ep.GetString()!,
                        EnvVars = env,
                        Metadata = metadata,
                        RuntimeEnvJson = runtimeEnvJson,
                        WorkingDirUri = workingDir,
                        NumCpus = Num(root, "entrypoint_num_cpus"),
                        NumGpus = Num(root, "entrypoint_num_gpus"),
                        Resources = resources,
                        RequestBody = body,
                        StartTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                        LogPath = Path.Combine(_root, "job-driver-" + SafeName(id) + ".log"),
                    };
                    _jobs[id] = job;
                    _pendingOrder.Add(job);
                    _created.AddOrUpdate(id, 1, (_, n) => n + 1);
                }
            }
            if (job == null)
            {
                await Text(ctx, 500, Traceback($"RuntimeError: Request failed with status code 400: " + Traceback($"ValueError: Job with submission_id {id} already exists. {DuplicatePhrase}.")));
                return;
            }
            Schedule();
            await Json(ctx, 200, new { job_id = id, submission_id = id });
        }

        static double Num(JsonElement root, string name) =>
            root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0;

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

        /// <summary>Starts PENDING jobs, in submission order, whose entrypoint resources fit.</summary>
        void Schedule()
        {
            var toStart = new List<StandInJob>();
            lock (_gate)
            {
                var (slots, cpus) = Usage();
                foreach (var job in _pendingOrder.ToList())
                {
                    if (job.Status != "PENDING") { _pendingOrder.Remove(job); continue; }
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
                var psi = new ProcessStartInfo("/bin/sh")
                {
                    UseShellExecute = false,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    RedirectStandardInput = true,
                    WorkingDirectory = cwd,
                };
                psi.ArgumentList.Add("-c");
                psi.ArgumentList.Add(job.Entrypoint);
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

        void Finish(StandInJob job, string status, string message, string? errorType, int? exitCode)
        {
            lock (_gate)
            {
                if (job.IsTerminal) return;
                job.Message = message;
                job.ErrorType = errorType;
                job.DriverExitCode = exitCode;
                job.EndTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                job.Status = status;
                _pendingOrder.Remove(job);
            }
            job.Ended.TrySetResult(true);
            if (Volatile.Read(ref _disposed) == 0) Schedule();
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

        async Task GetJobAsync(HttpContext ctx, string id)
        {
            var job = Job(id);
            if (job == null) { await Text(ctx, 404, $"Job {id} does not exist"); return; }
            await Json(ctx, 200, Details(job));
        }

        async Task StopAsync(HttpContext ctx, string id)
        {
            var job = Job(id);
            if (job == null) { await Text(ctx, 404, $"Job {id} does not exist"); return; }
            bool stopped;
            Process? process = null;
            lock (_gate)
            {
                stopped = !job.IsTerminal;
                if (stopped)
                {
                    job.StopRequested = true;
                    process = job.Process;
                }
            }
            if (stopped)
            {
                if (process == null) Finish(job, "STOPPED", "Job was intentionally stopped.", null, null);
                else
                {
                    try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } catch (System.ComponentModel.Win32Exception) { }
                }
            }
            await Json(ctx, 200, new { stopped });
        }

        async Task DeleteAsync(HttpContext ctx, string id)
        {
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

        async Task LogsAsync(HttpContext ctx, string id)
        {
            var job = Job(id);
            if (job == null) { await Text(ctx, 404, $"Job {id} does not exist"); return; }
            var text = "";
            if (File.Exists(job.LogPath))
                using (var f = new FileStream(job.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                using (var r = new StreamReader(f)) text = await r.ReadToEndAsync();
            await Json(ctx, 200, new { logs = text });
        }

        /// <summary>
        /// Ray's tail: waits for the driver to start, relays TEXT frames of up to 10 lines or about
        /// 20,000 characters (a frame may end mid-line), closes once the job is over and its log read.
        /// </summary>
        async Task TailAsync(HttpContext ctx, string id)
        {
            var job = Job(id);
            if (job == null) { await Text(ctx, 404, $"Job {id} does not exist"); return; }
            if (!ctx.WebSockets.IsWebSocketRequest) { await Text(ctx, 400, "Expected a WebSocket upgrade"); return; }
            using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
            var aborted = ctx.RequestAborted;
            try
            {
                while (job.Status == "PENDING" && !File.Exists(job.LogPath)) await Task.Delay(Settings.LogPollInterval, aborted);
                if (!File.Exists(job.LogPath))
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", aborted);
                    return;
                }
                using var file = new FileStream(job.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(file, Encoding.UTF8);
                var frame = new StringBuilder();
                var lines = 0;
                while (true)
                {
                    var wasTerminal = job.IsTerminal; // read before draining: a job over now has written everything
                    var chunk = new char[4096];
                    int n;
                    while ((n = await reader.ReadAsync(chunk, 0, chunk.Length)) > 0)
                    {
                        for (var i = 0; i < n; i++)
                        {
                            frame.Append(chunk[i]);
                            if (chunk[i] == '\n') lines++;
                            if (lines >= 10 || frame.Length >= 20000)
                            {
                                await Send(socket, frame.ToString(), aborted);
                                frame.Clear();
                                lines = 0;
                            }
                        }
                    }
                    if (frame.Length > 0)
                    {
                        await Send(socket, frame.ToString(), aborted);
                        frame.Clear();
                        lines = 0;
                    }
                    if (wasTerminal) break;
                    await Task.Delay(Settings.LogPollInterval, aborted);
                }
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", aborted);
            }
            catch (Exception ex) when (ex is OperationCanceledException || ex is WebSocketException || ex is IOException)
            {
                // the client went away
            }
        }

        static Task Send(WebSocket socket, string text, CancellationToken ct) =>
            socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, ct);

        // ------------------------------------------------------------------------------------
        // Helpers
        // ------------------------------------------------------------------------------------

        static string Traceback(string last) =>
            "Traceback (most recent call last):\n  File \"/ray/dashboard/modules/job/job_head.py\", line 380, in submit_job\n    resp = await job_agent_client.submit_job_internal(submit_request)\n" + last + "\n";

        static async Task Text(HttpContext ctx, int status, string text)
        {
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            await ctx.Response.WriteAsync(text);
        }

        static async Task Json(HttpContext ctx, int status, object value)
        {
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(JsonSerializer.Serialize(value));
        }

        /// <summary>Waits (on the job's own signal) until it is terminal.</summary>
        public async Task<StandInJob> WaitForEndAsync(string id, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            StandInJob? job;
            while ((job = Job(id)) == null)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"stand-in: job {id} never arrived");
                await Task.Delay(20);
            }
            await job.EndedTask.WaitAsync(deadline - DateTime.UtcNow);
            return job;
        }

        public async ValueTask DisposeAsync()
        {
            // Like `ray stop`: the dashboard goes away first, then every driver dies; no job is seen to end.
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(2))) await _app.StopAsync(stopping.Token);
            await _app.DisposeAsync();
            foreach (var job in AllJobs())
            {
                try { job.Process?.Kill(entireProcessTree: true); } catch (Exception) { }
            }
            try { Directory.Delete(_root, recursive: true); } catch (Exception) { }
        }

        public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
