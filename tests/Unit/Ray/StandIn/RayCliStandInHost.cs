using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
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
    /// <summary>How the stand-in <c>ray start</c> behaves.</summary>
    public enum CliStartBehavior
    {
        /// <summary>Brings a dashboard stand-in up on the requested port and exits 0.</summary>
        Start,
        /// <summary>Prints an error the way Ray does and exits 1.</summary>
        Fail,
        /// <summary>Exits 0 but no dashboard ever answers (a broken dashboard install).</summary>
        NoDashboard,
    }

    /// <summary>
    /// The test side of tests/fixtures/ray/ray: a small control server the script calls. On
    /// <c>ray start --head ... --dashboard-port P --resources '{"experiment_slot": N}'</c> it starts a
    /// <see cref="RayDashboardStandIn"/> on port P with N slots; on <c>ray stop</c> it disposes it.
    /// </summary>
    public sealed class RayCliStandInHost : IAsyncDisposable
    {
        readonly WebApplication _app;
        readonly object _gate = new();
        RayDashboardStandIn? _dashboard;

        RayCliStandInHost(WebApplication app, string argvLog)
        {
            _app = app;
            ArgvLog = argvLog;
        }

        public int ControlPort { get; private set; }
        /// <summary>Where the script appends each invocation's argv.</summary>
        public string ArgvLog { get; }
        public CliStartBehavior StartBehavior { get; set; } = CliStartBehavior.Start;
        /// <summary>Settings for the dashboards it starts (slots and CPUs come from the argv).</summary>
        public Func<StandInSettings> NewSettings { get; set; } = () => new StandInSettings();
        public RayDashboardStandIn? Dashboard
        {
            get { lock (_gate) return _dashboard; }
        }
        public int StartCalls;
        public int StopCalls;

        /// <summary>The fixture folder holding the stand-in <c>ray</c> (found from the test's build output upward).</summary>
        public static string FixtureDirectory
        {
            get
            {
                var dir = new DirectoryInfo(AppContext.BaseDirectory);
                while (dir != null)
                {
                    var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "ray");
                    if (File.Exists(Path.Combine(candidate, "ray"))) return candidate;
                    dir = dir.Parent;
                }
                throw new InvalidOperationException("tests/fixtures/ray/ray not found above " + AppContext.BaseDirectory);
            }
        }

        /// <summary>Every recorded invocation's argv, in order.</summary>
        public IReadOnlyList<IReadOnlyList<string>> Invocations()
        {
            if (!File.Exists(ArgvLog)) return Array.Empty<IReadOnlyList<string>>();
            return File.ReadAllLines(ArgvLog)
                .Where(l => l.Length > 0)
                .Select(l => (IReadOnlyList<string>)l.TrimEnd('\x1f').Split('\x1f'))
                .ToList();
        }

        public static async Task<RayCliStandInHost> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>() });
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(o => o.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var log = Path.Combine(Path.GetTempPath(), "ray-argv-" + Guid.NewGuid().ToString("N")[..12] + ".log");
            var host = new RayCliStandInHost(app, log);
            app.Run(host.HandleAsync);
            await app.StartAsync();
            host.ControlPort = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
            return host;
        }

        async Task HandleAsync(HttpContext ctx)
        {
            string body;
            using (var reader = new StreamReader(ctx.Request.Body)) body = await reader.ReadToEndAsync();
            var argv = body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            ctx.Response.ContentType = "text/plain";
            if (ctx.Request.Path == "/start")
            {
                Interlocked.Increment(ref StartCalls);
                var (status, text) = await StartDashboardAsync(argv);
                ctx.Response.StatusCode = status;
                await ctx.Response.WriteAsync(text);
                return;
            }
            if (ctx.Request.Path == "/stop")
            {
                Interlocked.Increment(ref StopCalls);
                RayDashboardStandIn? old;
                lock (_gate)
                {
                    old = _dashboard;
                    _dashboard = null;
                }
                if (old != null) await old.DisposeAsync();
                ctx.Response.StatusCode = 200;
                await ctx.Response.WriteAsync(old == null ? "Did not find any active Ray processes." : "Stopped all 7 Ray processes.");
                return;
            }
            ctx.Response.StatusCode = 404;
        }

        async Task<(int, string)> StartDashboardAsync(string[] argv)
        {
            if (StartBehavior == CliStartBehavior.Fail)
                return (500, "ConnectionError: ray start failed: the GCS could not bind port 6379 (Address already in use).");
            if (Array.IndexOf(argv, "--head") < 0) return (500, "stand-in: only 'ray start --head' is supported");
            string? Value(string flag)
            {
                var i = Array.IndexOf(argv, flag);
                return i >= 0 && i + 1 < argv.Length ? argv[i + 1] : null;
            }
            var port = int.Parse(Value("--dashboard-port") ?? "8265", CultureInfo.InvariantCulture);
            var settings = NewSettings();
            if (Value("--num-cpus") is string cpus) settings.Cpus = double.Parse(cpus, CultureInfo.InvariantCulture);
            if (Value("--resources") is string resources)
            {
                using var doc = JsonDocument.Parse(resources); // a quoting mistake shows up here
                if (doc.RootElement.TryGetProperty("experiment_slot", out var slots)) settings.ExperimentSlots = slots.GetDouble();
            }
            if (StartBehavior == CliStartBehavior.NoDashboard)
                return (200, "Ray runtime started (stand-in, but its dashboard will never answer).");
            lock (_gate)
                if (_dashboard != null) return (500, "ConnectionError: Ray is already running at 127.0.0.1:6379.");
            var dashboard = await RayDashboardStandIn.StartAsync(settings, port);
            lock (_gate) _dashboard = dashboard;
            return (200, $"Ray runtime started.\nView the dashboard at http://127.0.0.1:{port}\nRAY_ADDRESS='http://127.0.0.1:{port}' ray job submit --working-dir . -- python my_script.py");
        }

        public async ValueTask DisposeAsync()
        {
            RayDashboardStandIn? old;
            lock (_gate)
            {
                old = _dashboard;
                _dashboard = null;
            }
            if (old != null) await old.DisposeAsync();
            await _app.StopAsync();
            await _app.DisposeAsync();
            try { File.Delete(ArgvLog); } catch (IOException) { }
        }
    }
}
