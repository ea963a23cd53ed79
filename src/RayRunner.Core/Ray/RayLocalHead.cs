using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Ray
{
    /// <summary>A local Ray head that RayRunner starts itself (<c>ray start --head</c>) when nothing answers on this machine.</summary>
    internal static class RayLocalHead
    {
        /// <summary>What <c>ray start</c> was run as and printed, for the messages of a later failure.</summary>
        internal sealed class Started
        {
            public Started(string commandLine, string output)
            {
                CommandLine = commandLine;
                Output = output;
            }

            public string CommandLine { get; }
            public string Output { get; }
        }

        /// <summary>Runs <c>ray start --head</c> with the cluster's CPUs, GPUs and custom resources; throws with its output when it fails.</summary>
        public static async Task<Started> StartAsync(string ray, string address, ClusterOptions cluster, RayBackendOptions options, CancellationToken ct)
        {
            var port = new Uri(address).Port;
            var args = new List<string> { "start", "--head" };
            var cpus = cluster.NumCpus ?? options.NumCpus;
            var gpus = cluster.NumGpus ?? options.NumGpus;
            if (cpus.HasValue) args.AddRange(new[] { "--num-cpus", cpus.Value.ToString(CultureInfo.InvariantCulture) });
            if (gpus.HasValue) args.AddRange(new[] { "--num-gpus", gpus.Value.ToString(CultureInfo.InvariantCulture) });
            if (cluster.Resources.Count > 0) args.AddRange(new[] { "--resources", ResourcesJson(cluster.Resources) });
            args.AddRange(new[] { "--dashboard-port", port.ToString(CultureInfo.InvariantCulture), "--disable-usage-stats" });

            var result = await RayCli.RunAsync(ray, args, options.StartupTimeout, ct).ConfigureAwait(false);
            var commandLine = "ray " + string.Join(" ", args.Select(RayCli.QuoteArgument));
            if (result.TimedOut)
                throw new RayClusterException($"'{commandLine}' did not finish within {options.StartupTimeout.TotalSeconds:0} s. Its output:{Indent(result.Output)}", result.Output);
            if (result.ExitCode != 0)
                throw new RayClusterException($"'{commandLine}' failed with exit code {result.ExitCode}. Its output:{Indent(result.Output)}", result.Output);
            return new Started(commandLine, result.Output);
        }

        /// <summary>ray start has returned, but the dashboard and its agent take a moment to serve jobs: wait, up to the start-up timeout.</summary>
        public static async Task WaitForDashboardAsync(string address, Started head, DateTimeOffset since, RayBackendOptions options,
            Func<CancellationToken, Task<bool>> answers, CancellationToken ct)
        {
            var pause = TimeSpan.FromMilliseconds(Math.Min(250, Math.Max(20, options.PollIntervalMin.TotalMilliseconds)));
            while (!await answers(ct).ConfigureAwait(false))
            {
                if (DateTimeOffset.UtcNow - since > options.StartupTimeout)
                    throw new RayClusterException(
                        $"'{head.CommandLine}' returned, but no dashboard answered at {address} within {options.StartupTimeout.TotalSeconds:0} s. " +
                        $"Is the dashboard installed (pip install \"ray[default]\") and the port free? 'ray stop' cleans up the half-started cluster. Its output:{Indent(head.Output)}",
                        head.Output);
                await Task.Delay(pause, ct).ConfigureAwait(false);
            }
        }

        public static bool IsLoopback(string address)
        {
            var host = new Uri(address).Host;
            return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == "::1";
        }

        public static string Indent(string output) =>
            string.IsNullOrWhiteSpace(output) ? " (none)" : Environment.NewLine + string.Join(Environment.NewLine, output.Split('\n').Select(l => "  " + l.TrimEnd('\r')));

        static string ResourcesJson(IReadOnlyDictionary<string, double> resources) =>
            "{" + string.Join(", ", resources.Select(kv => System.Text.Json.JsonSerializer.Serialize(kv.Key) + ": " + FormatNumber(kv.Value))) + "}";

        static string FormatNumber(double d) =>
            d == Math.Floor(d) && Math.Abs(d) < 1e15 ? ((long)d).ToString(CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture);
    }
}
