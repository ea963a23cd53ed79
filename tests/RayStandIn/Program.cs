using System;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Tests.Unit.Ray.StandIn;

namespace RayRunner.RayStandIn
{
    /// <summary>
    /// Serves the Ray stand-ins to other processes (the Pester suite): a dashboard that follows
    /// shared/ray/jobs-rest-api.md, and optionally the control server of the stand-in 'ray' CLI.
    /// Prints one machine-readable line with the addresses, then serves until told to stop; see
    /// <see cref="StandInOptions.Usage"/>.
    /// </summary>
    public static class Program
    {
        public static async Task<int> Main(string[] args)
        {
            StandInOptions options;
            try
            {
                options = StandInOptions.Parse(args);
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine("RayStandIn: " + ex.Message);
                Console.Error.WriteLine(StandInOptions.Usage);
                return 2;
            }

            using var lifetime = new LifetimeWatch(options.ParentPid, options.MaxLifetime);
            RayDashboardStandIn? dashboard = null;
            RayCliStandInHost? cli = null;
            ControlServer? control = null;
            try
            {
                if (options.Dashboard)
                {
                    dashboard = await RayDashboardStandIn.StartAsync(options.NewSettings(), options.Port);
                    FaultPlan.Apply(dashboard.Faults, options);
                }
                if (options.Cli)
                {
                    cli = await RayCliStandInHost.StartAsync();
                    cli.NewSettings = options.NewSettings;
                }
                var d = dashboard;
                var c = cli;
                control = await ControlServer.StartAsync(() => StateReport.Build(d, c, options.Token), lifetime.RequestStop);

                Console.Out.WriteLine("RAYSTANDIN " + JsonSerializer.Serialize(new
                {
                    address = dashboard?.Address,
                    control = control.Address,
                    cliControl = cli == null ? null : "127.0.0.1:" + cli.ControlPort,
                    argvLog = cli?.ArgvLog,
                    pid = Environment.ProcessId,
                }));
                Console.Out.Flush();

                var reason = await lifetime.Ended;
                Console.Error.WriteLine("RayStandIn: stopping (" + reason + ").");
            }
            catch (Exception ex)
            {
                Console.Error.WriteLine("RayStandIn: could not serve: " + ex.Message);
                return 1;
            }
            finally
            {
                await ShutDownAsync(control, cli, dashboard);
            }
            return 0;
        }

        /// <summary>Disposes everything within a bound; a stand-in that cannot stop still exits (its drivers are killed by the stand-ins' own dispose).</summary>
        static async Task ShutDownAsync(ControlServer? control, RayCliStandInHost? cli, RayDashboardStandIn? dashboard)
        {
            var all = Task.Run(async () =>
            {
                if (control != null) await control.DisposeAsync();
                if (cli != null) await cli.DisposeAsync();
                if (dashboard != null) await dashboard.DisposeAsync();
            });
            if (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(15))) != all)
            {
                Console.Error.WriteLine("RayStandIn: shutting down took over 15 s; exiting anyway.");
                Environment.Exit(3);
            }
        }
    }
}
