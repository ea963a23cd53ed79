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
    /// <summary>
    /// An in-process stand-in for the Ray dashboard's Job Submission API (shared/ray/jobs-rest-api.md):
    /// Kestrel on 127.0.0.1, reachable from this process and from any other process on the machine.
    /// It keeps Ray's shapes and quirks (trailing-slash routes, text/plain error bodies, 500 on a
    /// duplicate submission_id, 400 on unknown fields and on fields of the wrong type, 405 to
    /// browser-like POST/PUT, 401/403 in token mode, epoch-millisecond times, DRIVER jobs in the
    /// list, delete rules, the logs route and the tail WebSocket) and its lifecycle (submit answers
    /// while PENDING; the supervisor comes up later; PENDING until entrypoint resources fit, and
    /// FAILED at the start timeout; stop is stopped:false without a supervisor, else SIGTERM to the
    /// driver's process group and SIGKILL after the grace period), and really runs each entrypoint
    /// with /bin/sh -c and the job's env_vars. <see cref="Faults"/> injects failures. It records
    /// rather than enforces: every request, every POST per id, jobs created, duplicates refused,
    /// the most jobs active (<see cref="MaxActive"/>) and running at once.
    /// </summary>
    public sealed partial class RayDashboardStandIn : IAsyncDisposable, IDisposable
    {
        const string DuplicatePhrase = "Please use a different submission_id";
        const string EchoKey = "standin.echo-authorization";

        readonly WebApplication _app;
        readonly string _root;
        readonly object _gate = new();
        readonly Dictionary<string, StandInJob> _jobs = new(StringComparer.Ordinal);
        readonly List<StandInJob> _pendingOrder = new();
        readonly ConcurrentDictionary<string, byte[]> _packages = new(StringComparer.Ordinal);
        readonly ConcurrentDictionary<string, int> _created = new(StringComparer.Ordinal);
        readonly ConcurrentDictionary<string, int> _duplicates = new(StringComparer.Ordinal);
        readonly ConcurrentDictionary<string, int> _posts = new(StringComparer.Ordinal);
        readonly CancellationTokenSource _lifetime = new();
        int _noAgentAnswered;
        int _stopsAccepted;
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
        /// <summary>The most jobs RUNNING at once (limited by the stand-in's own resources).</summary>
        public int MaxRunning;
        /// <summary>
        /// The most jobs submitted and not yet over at once, PENDING included: what a client handed
        /// the cluster, whatever the cluster's resources let run. This measures a client's cap.
        /// </summary>
        public int MaxActive;
        /// <summary>Stops answered <c>stopped: true</c>.</summary>
        public int StopsAccepted => Volatile.Read(ref _stopsAccepted);

        public StandInJob? Job(string id)
        {
            lock (_gate) return _jobs.TryGetValue(id, out var j) ? j : null;
        }

        /// <summary>Forgets a job as a head that restarted does: it is no longer listed nor found by id (its process ends on its own).</summary>
        public bool ForgetJob(string id)
        {
            lock (_gate) return _jobs.Remove(id);
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

            if (Settings.EchoAuthorizationInErrors) ctx.Items[EchoKey] = ctx.Request.Headers.Authorization.FirstOrDefault();
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
                    await Json(ctx, 200, ListDetails().ToList());
                    return;
                case ("POST", "/api/jobs/"):
                    await SubmitAsync(ctx);
                    return;
            }

            if (segments.Length >= 4 && segments[1] == "api" && segments[2] == "jobs" && segments[3].Length > 0)
            {
                var id = segments[3];
                var rest = string.Join("/", segments.Skip(4));
                if (method == "GET" && rest is "logs" or "logs/tail" && IsDriver(id))
                {
                    await Text(ctx, 400, Traceback($"ValueError: Job {id} is a DRIVER job; its logs cannot be read through the Jobs API."));
                    return;
                }
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
        // Logs (the lifecycle is in RayDashboardStandIn.Jobs.cs)
        // ------------------------------------------------------------------------------------

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
                    if (wasTerminal && Settings.TailDropsLastLines > 0)
                    {
                        // ray#46413: the stream of an ended job closes before its last lines.
                        var rest = frame + await reader.ReadToEndAsync();
                        frame.Clear();
                        var cut = StandInLogText.DropLastLines(rest, Settings.TailDropsLastLines);
                        if (cut.Length > 0) await Send(socket, cut, aborted);
                        break;
                    }
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
            // A misbehaving proxy repeats the request's credentials in every error it relays.
            if (status >= 400 && ctx.Items.TryGetValue(EchoKey, out var echoed) && echoed is string header)
                text += $"\n(while handling a request with headers: Authorization: {header})";
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
            _lifetime.Cancel();
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
