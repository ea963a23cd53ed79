using System;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Ray
{
    /// <summary>Where the Ray dashboard is and whether it answers: what BackendFactory asks before it builds a backend.</summary>
    internal static class RayDashboard
    {
        /// <summary>The parameter, else RAY_API_SERVER_ADDRESS / RAY_ADDRESS when http(s), else http://127.0.0.1:{port}.</summary>
        public static string ResolveAddress(string? parameter, Func<string, string?> env, int dashboardPort)
        {
            if (env == null) throw new ArgumentNullException(nameof(env));
            if (!string.IsNullOrWhiteSpace(parameter))
            {
                var given = parameter!.Trim();
                if (!IsHttpUrl(given))
                    throw new ArgumentException($"'{given}' is not a Ray dashboard URL. Give one like http://127.0.0.1:8265 (RayRunner talks to the dashboard, not to the GCS port 6379).", nameof(parameter));
                return given.TrimEnd('/');
            }
            foreach (var name in new[] { "RAY_API_SERVER_ADDRESS", "RAY_ADDRESS" })
            {
                var value = env(name)?.Trim();
                // Non-URL values (ip:port of the GCS, "auto") need gRPC to resolve: not usable here.
                if (!string.IsNullOrEmpty(value) && IsHttpUrl(value!)) return value!.TrimEnd('/');
            }
            return "http://127.0.0.1:" + dashboardPort.ToString(CultureInfo.InvariantCulture);
        }

        static bool IsHttpUrl(string s) =>
            Uri.TryCreate(s, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps);

        /// <summary>Does a dashboard answer GET /api/version at the options' address?</summary>
        public static async Task<bool> ProbeAsync(RayBackendOptions options, CancellationToken ct)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            var address = ResolveAddress(options.Address, options.Environment, options.DashboardPort);
            using var client = new RayJobsClient(address, RayAuth.ResolveToken(options.Token, options.Environment), options);
            return await AnswersAsync(client, options.ProbeTimeout, ct, options.RetryDelay, options.Log).ConfigureAwait(false);
        }

        /// <summary>
        /// True when something answers as a dashboard (a 401/403 counts: something is there). One
        /// failed GET /api/version may be a blip (a dashboard restarting, a dropped connection), so it
        /// is asked once more after <paramref name="retryDelay"/> before nothing counts as there.
        /// </summary>
        public static async Task<bool> AnswersAsync(RayJobsClient client, TimeSpan timeout, CancellationToken ct, TimeSpan retryDelay = default, Action<string>? log = null)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await client.GetVersionAsync(timeout, ct).ConfigureAwait(false);
                    if (attempt > 1) log?.Invoke($"The Ray dashboard at {client.Address} answered GET /api/version on try {attempt}.");
                    return true;
                }
                catch (RayApiException ex) when (ex.StatusCode == 401 || ex.StatusCode == 403)
                {
                    return true;
                }
                catch (Exception ex) when (!(ex is OperationCanceledException && ct.IsCancellationRequested))
                {
                    if (attempt >= 2 || !RayJobsClient.IsTransient(ex))
                    {
                        log?.Invoke($"Nothing answered GET /api/version at {client.Address} ({attempt} tries): {ex.Message}");
                        return false;
                    }
                    log?.Invoke($"GET /api/version at {client.Address} failed ({ex.Message}); asking once more in {retryDelay.TotalSeconds:0.##} s.");
                    await Task.Delay(retryDelay, ct).ConfigureAwait(false);
                }
            }
        }
    }
}
