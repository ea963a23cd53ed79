using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Ray
{
    /// <summary>What became of a submit.</summary>
    public enum SubmitOutcome
    {
        /// <summary>The dashboard accepted this POST.</summary>
        Submitted,
        /// <summary>The job already existed under this id (a duplicate-id answer, or found by GET after a lost response).</summary>
        AlreadySubmitted,
    }

    /// <summary>
    /// The Ray Job Submission REST API over HttpClient (shared/ray/jobs-rest-api.md): one method per
    /// call, each with its own timeout and the caller's CancellationToken. Sends no browser-like
    /// headers, a RayRunner User-Agent, the bearer token when there is one, and never puts the
    /// token into a message.
    /// </summary>
    public sealed partial class RayJobsClient : IDisposable
    {
        public const string DuplicateSubmissionPhrase = "Please use a different submission_id";
        public const string NoAgentPhrase = "No available agent";
        public static readonly string UserAgent = "RayRunner/" + typeof(RayJobsClient).Assembly.GetName().Version!.ToString(3);

        /// <summary>Headers the dashboard treats as a browser's: POST/PUT with any of them get 405.</summary>
        static readonly string[] BrowserHeaders =
        {
            "Origin", "Referer", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Fetch-Site", "Sec-Fetch-User",
            "Access-Control-Request-Method", "Access-Control-Request-Headers",
        };

        readonly HttpClient _http;
        readonly RayBackendOptions _options;
        readonly string? _token;
        readonly Uri _base;

        public RayJobsClient(string address, string? token, RayBackendOptions options)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            Address = address.TrimEnd('/');
            if (!Uri.TryCreate(Address + "/", UriKind.Absolute, out var baseUri) || (baseUri.Scheme != "http" && baseUri.Scheme != "https"))
                throw new ArgumentException($"'{address}' is not a Ray dashboard URL. Give one like http://127.0.0.1:8265.", nameof(address));
            _base = baseUri;
            _token = token;
            _http = options.Handler != null
                ? new HttpClient(options.Handler, disposeHandler: false)
                : new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }, disposeHandler: true);
            _http.Timeout = System.Threading.Timeout.InfiniteTimeSpan; // every call sets its own
            _http.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", UserAgent);
            if (token != null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            foreach (var header in ValidatedExtraHeaders(options.Headers))
                if (!_http.DefaultRequestHeaders.TryAddWithoutValidation(header.Key, header.Value))
                    throw new ArgumentException($"The header '{header.Key}' cannot be sent on every request; leave it out of Headers.", nameof(options));
        }

        /// <summary>The dashboard URL without a trailing slash.</summary>
        public string Address { get; }

        public bool HasToken => _token != null;

        static IEnumerable<KeyValuePair<string, string>> ValidatedExtraHeaders(IReadOnlyDictionary<string, string>? headers)
        {
            if (headers == null) yield break;
            foreach (var h in headers)
            {
                if (string.IsNullOrWhiteSpace(h.Key)) throw new ArgumentException("A header name is empty.", nameof(headers));
                foreach (var browser in BrowserHeaders)
                    if (string.Equals(h.Key, browser, StringComparison.OrdinalIgnoreCase))
                        throw new ArgumentException($"The header '{h.Key}' makes the Ray dashboard refuse every submit with 405 (its browser guard). Leave it out.", nameof(headers));
                if (string.Equals(h.Key, "User-Agent", StringComparison.OrdinalIgnoreCase) && (h.Value ?? "").TrimStart().StartsWith("Mozilla", StringComparison.OrdinalIgnoreCase))
                    throw new ArgumentException("A User-Agent starting with 'Mozilla' makes the Ray dashboard refuse every submit with 405 (its browser guard). Use another one.", nameof(headers));
                if (string.Equals(h.Key, "User-Agent", StringComparison.OrdinalIgnoreCase)) continue; // ours stays
                yield return h;
            }
        }

        // ------------------------------------------------------------------------------------
        // Calls
        // ------------------------------------------------------------------------------------

        /// <summary>GET /api/version (once, no retries): the handshake and the readiness probe.</summary>
        public async Task<RayVersionInfo> GetVersionAsync(TimeSpan timeout, CancellationToken ct)
        {
            using var doc = await SendJsonAsync(HttpMethod.Get, "api/version", null, timeout, ct).ConfigureAwait(false)
                ?? throw Error("GET", "api/version", 404, "Jobs API not supported by this server");
            var root = doc.RootElement;
            string Read(string name) => root.TryGetProperty(name, out var v) ? (v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()) : "";
            return new RayVersionInfo(Read("version"), Read("ray_version"));
        }

        /// <summary>GET /api/jobs/{id}, retried on transient failures; null when the job does not exist.</summary>
        public Task<RayJobDetails?> GetJobAsync(string id, CancellationToken ct) =>
            WithRetriesAsync(async t =>
            {
                using var doc = await SendJsonAsync(HttpMethod.Get, JobPath(id), null, _options.RequestTimeout, t).ConfigureAwait(false);
                return doc == null ? null : RayJobDetails.FromJson(doc.RootElement);
            }, ct);

        /// <summary>GET /api/jobs/ (slash required): every job the cluster remembers, in one request. Not retried: the poller's next tick is the retry.</summary>
        public async Task<IReadOnlyList<RayJobDetails>> ListJobsAsync(CancellationToken ct)
        {
            using var doc = await SendJsonAsync(HttpMethod.Get, "api/jobs/", null, _options.RequestTimeout, ct).ConfigureAwait(false);
            var list = new List<RayJobDetails>();
            if (doc == null) return list;
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
                throw new RayApiException(Address, "GET", "/api/jobs/", 200, "expected a JSON array of jobs (Jobs API version 2 or later)");
            foreach (var e in doc.RootElement.EnumerateArray()) list.Add(RayJobDetails.FromJson(e));
            return list;
        }

        /// <summary>
        /// POST /api/jobs/ exactly once per id. A duplicate-id answer (500 with Ray's phrase) is
        /// "already submitted"; "No available agent" is retried (nothing was recorded); any other
        /// ambiguous failure (5xx, timeout, dropped connection) is followed by a GET by id, and only
        /// a 404 there leads to sending the POST again.
        /// </summary>
        public async Task<SubmitOutcome> SubmitJobAsync(string submissionId, byte[] body, CancellationToken ct)
        {
            Exception? last = null;
            for (var attempt = 0; attempt <= _options.MaxRetries; attempt++)
            {
                if (attempt > 0)
                {
                    _options.Log?.Invoke($"Submitting Ray job {submissionId} again in {DelayOf(attempt).TotalSeconds:0.##} s (try {attempt + 1} of {_options.MaxRetries + 1}): {last?.Message}");
                    await DelayAsync(attempt, ct).ConfigureAwait(false);
                }
                bool ambiguous;
                try
                {
                    var (status, text) = await SendAsync(HttpMethod.Post, "api/jobs/", new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } }, _options.SubmitTimeout, ct).ConfigureAwait(false);
                    if (status >= 200 && status < 300) return SubmitOutcome.Submitted;
                    if (text.IndexOf(DuplicateSubmissionPhrase, StringComparison.Ordinal) >= 0) return SubmitOutcome.AlreadySubmitted;
                    last = Error("POST", "api/jobs/", status, text);
                    if (text.IndexOf(NoAgentPhrase, StringComparison.OrdinalIgnoreCase) >= 0) continue; // the agent never saw it
                    if (status < 500) throw last; // refused: retrying cannot help
                    ambiguous = true;
                }
                catch (RayConnectionException ex)
                {
                    last = ex;
                    ambiguous = true;
                }

                if (ambiguous)
                {
                    // The job may have been recorded before the answer was lost: look before resending.
                    var existing = await GetJobAsync(submissionId, ct).ConfigureAwait(false);
                    if (existing != null)
                    {
                        _options.Log?.Invoke($"The answer to submitting Ray job {submissionId} was lost, but the head has the job: it counts as submitted once.");
                        return SubmitOutcome.AlreadySubmitted;
                    }
                }
            }
            throw last ?? new InvalidOperationException("unreachable");
        }

        /// <summary>POST /api/jobs/{id}/stop: true when a running supervisor was told to stop; null when the job does not exist.</summary>
        public Task<bool?> StopJobAsync(string id, CancellationToken ct) =>
            WithRetriesAsync(async t =>
            {
                using var doc = await SendJsonAsync(HttpMethod.Post, JobPath(id) + "/stop", null, _options.RequestTimeout, t).ConfigureAwait(false);
                if (doc == null) return (bool?)null;
                return doc.RootElement.TryGetProperty("stopped", out var s) && s.ValueKind == JsonValueKind.True;
            }, ct);

        /// <summary>DELETE /api/jobs/{id}: only terminal jobs can be deleted (else 500). Null when the job does not exist.</summary>
        public Task<bool?> DeleteJobAsync(string id, CancellationToken ct) =>
            WithRetriesAsync(async t =>
            {
                using var doc = await SendJsonAsync(HttpMethod.Delete, JobPath(id), null, _options.RequestTimeout, t).ConfigureAwait(false);
                if (doc == null) return (bool?)null;
                return doc.RootElement.TryGetProperty("deleted", out var d) && d.ValueKind == JsonValueKind.True;
            }, ct, retryServerErrors: false);

        /// <summary>GET /api/packages/gcs/{name}: true when the head has the package (and pins it for 10 minutes).</summary>
        public Task<bool> PackageExistsAsync(string name, CancellationToken ct) =>
            WithRetriesAsync(async t =>
            {
                var path = "api/packages/gcs/" + Uri.EscapeDataString(name);
                var (status, text) = await SendAsync(HttpMethod.Get, path, null, _options.RequestTimeout, t).ConfigureAwait(false);
                if (status == 404) return false;
                if (status >= 200 && status < 300) return true;
                throw Error("GET", path, status, text);
            }, ct);

        /// <summary>PUT /api/packages/gcs/{name} with the zip's bytes.</summary>
        public Task UploadPackageAsync(string name, string zipPath, CancellationToken ct) =>
            WithRetriesAsync(async t =>
            {
                var path = "api/packages/gcs/" + Uri.EscapeDataString(name);
                using var file = new FileStream(zipPath, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
                var content = new StreamContent(file);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
                var (status, text) = await SendAsync(HttpMethod.Put, path, content, _options.UploadTimeout, t).ConfigureAwait(false);
                if (status < 200 || status >= 300) throw Error("PUT", path, status, text);
                return true;
            }, ct);

        /// <summary>GET /api/cluster_status?format=1: the text <c>ray status</c> prints, or null when the route is missing or failed.</summary>
        public async Task<string?> GetClusterStatusTextAsync(CancellationToken ct)
        {
            try
            {
                using var doc = await SendJsonAsync(HttpMethod.Get, "api/cluster_status?format=1", null, _options.RequestTimeout, ct).ConfigureAwait(false);
                if (doc == null) return null;
                var root = doc.RootElement;
                if (root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object &&
                    data.TryGetProperty("clusterStatus", out var s) && s.ValueKind == JsonValueKind.String)
                    return s.GetString();
                return null;
            }
            catch (Exception ex) when (ex is RayApiException || ex is RayConnectionException || ex is JsonException)
            {
                return null;
            }
        }

    }

    /// <summary>The dashboard does not know the job (404): never submitted, deleted, or lost with the cluster.</summary>
    public sealed class RayJobNotFoundException : RunLostException
    {
        public RayJobNotFoundException(string address, string id)
            : base($"The Ray cluster at {address} has no job '{id}'. It was never submitted there, was deleted, or was lost when the cluster stopped (Ray keeps job records only while the head runs).")
        {
            SubmissionId = id;
        }

        public string SubmissionId { get; }
    }
}
