using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// ray#55133: a job can sit PENDING for 15 minutes with no hint why. Once a run has been
    /// PENDING longer than <see cref="RayBackendOptions.PendingWarningAfter"/>, it gets one warning
    /// that says what it asked for and, when the head reports it (GET /api/cluster_status), what the
    /// cluster has free; otherwise that this is unknown.
    /// </summary>
    internal sealed class RayPendingWarning
    {
        readonly RayJobsClient _client;
        readonly RayBackendOptions _options;
        readonly CancellationToken _lifetime;
        readonly ConcurrentDictionary<string, (string Description, IReadOnlyList<string> Custom)> _asked =
            new ConcurrentDictionary<string, (string, IReadOnlyList<string>)>(StringComparer.Ordinal);

        public RayPendingWarning(RayJobsClient client, RayBackendOptions options, CancellationToken lifetime)
        {
            _client = client;
            _options = options;
            _lifetime = lifetime;
        }

        /// <summary>Remembers what a job asked for ("1 CPU, 1 experiment_slot") and which custom resources, for its warning.</summary>
        public void Asked(string id, TaskOptions options) =>
            _asked[id] = (RaySubmitRequest.DescribeAsk(options), options.Resources.Where(r => r.Value > 0).Select(r => r.Key).ToList());

        /// <summary>Called by the poller once per job that stayed PENDING too long; warns from a background task.</summary>
        public void Warn(RayJobPoller.JobWatch watch) => _ = WarnAsync(watch.Id, DateTimeOffset.UtcNow - (watch.PendingSince ?? DateTimeOffset.UtcNow));

        async Task WarnAsync(string id, TimeSpan pendingFor)
        {
            string? status;
            try
            {
                status = await _client.GetClusterStatusTextAsync(_lifetime).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var known = _asked.TryGetValue(id, out var a);
            var asked = known ? a.Description : "resources unknown to this session (it did not submit the run)";
            var absent = known ? Absent(a.Custom, status) : Array.Empty<string>();
            _options.Warn?.Invoke(
                $"Ray job {id} has been PENDING for {pendingFor.TotalSeconds:0} s. It asked for {asked}; {DescribeFree(status)}. " +
                (absent.Count > 0
                    ? $"No node offers resource {string.Join(", ", absent)} at all, so it will not start unless a node with {(absent.Count == 1 ? "it" : "them")} joins; it fails after Ray's start timeout (900 s). Check the name (resources are case-sensitive), start a node with --resources, or stop it with Stop-RayRun."
                    : "It starts once those are free; a request the cluster can never meet fails after Ray's start timeout (900 s). Check 'ray status', or stop it with Stop-RayRun."));
        }

        /// <summary>
        /// The custom resources asked for that the cluster does not have at all (not merely in use),
        /// from its <c>ray status</c> text; none when the head does not report its resources.
        /// </summary>
        internal static IReadOnlyList<string> Absent(IReadOnlyList<string> custom, string? statusText)
        {
            var usage = ParseUsage(statusText);
            if (usage.Count == 0) return Array.Empty<string>();
            return custom.Where(name => !usage.TryGetValue(name, out var u) || u.Total <= 0).ToList();
        }

        /// <summary>"the cluster has free: 0 CPU, 2 GPU" from the text <c>ray status</c> prints; says so when unknown.</summary>
        internal static string DescribeFree(string? statusText)
        {
            var usage = ParseUsage(statusText);
            if (usage.Count == 0) return "what the cluster has free is unknown (the head does not report its resources)";
            var parts = usage.Where(u => !u.Key.StartsWith("node:", StringComparison.Ordinal) && !u.Key.EndsWith("memory", StringComparison.Ordinal))
                .Select(u => Number(Math.Max(0, u.Value.Total - u.Value.Used)) + " of " + Number(u.Value.Total) + " " + u.Key);
            return "the cluster has free " + string.Join(", ", parts);
        }

        /// <summary>Reads "used/total name" lines (e.g. " 3.0/4.0 CPU") of the Usage section.</summary>
        internal static IReadOnlyDictionary<string, (double Used, double Total)> ParseUsage(string? statusText)
        {
            var result = new Dictionary<string, (double, double)>(StringComparer.Ordinal);
            if (statusText == null) return result;
            foreach (var raw in statusText.Split('\n'))
            {
                var line = raw.Trim();
                var space = line.IndexOf(' ');
                var slash = space > 0 ? line.IndexOf('/', 0, space) : -1;
                if (slash <= 0) continue;
                var name = line.Substring(space + 1).Trim();
                var paren = name.IndexOf(' ');
                if (paren > 0) name = name.Substring(0, paren);
                if (name.Length > 0
                    && double.TryParse(line.Substring(0, slash), NumberStyles.Float, CultureInfo.InvariantCulture, out var used)
                    && double.TryParse(line.Substring(slash + 1, space - slash - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var total))
                    result[name] = (used, total);
            }
            return result;
        }

        internal static string Number(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
    }
}
