using System;
using System.Linq;
using System.Net;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RayRunner.RayStandIn
{
    /// <summary>
    /// The program's own loopback endpoint, apart from the dashboard (so its requests never show in
    /// the dashboard's counters): GET /state answers <see cref="StateReport"/> as JSON, POST /stop
    /// ends the program.
    /// </summary>
    public sealed class ControlServer : IAsyncDisposable
    {
        readonly WebApplication _app;

        ControlServer(WebApplication app) => _app = app;

        public string Address { get; private set; } = "";

        public static async Task<ControlServer> StartAsync(Func<object> state, Action<string> stop)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>() });
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(o => o.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            app.Run(async ctx =>
            {
                switch (ctx.Request.Method, ctx.Request.Path.Value)
                {
                    case ("GET", "/state"):
                        ctx.Response.ContentType = "application/json";
                        await ctx.Response.WriteAsync(JsonSerializer.Serialize(state()));
                        return;
                    case ("POST", "/stop"):
                        ctx.Response.ContentType = "text/plain";
                        await ctx.Response.WriteAsync("stopping");
                        stop("POST /stop");
                        return;
                    default:
                        ctx.Response.StatusCode = 404;
                        await ctx.Response.WriteAsync("GET /state or POST /stop");
                        return;
                }
            });
            await app.StartAsync();
            var server = new ControlServer(app)
            {
                Address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().Replace("localhost", "127.0.0.1"),
            };
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
