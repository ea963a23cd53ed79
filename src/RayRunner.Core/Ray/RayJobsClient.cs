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
    public sealed class RayJobsClient : IDisposable
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
                if (attempt > 0) await DelayAsync(attempt, ct).ConfigureAwait(false);
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
                    if (existing != null) return SubmitOutcome.AlreadySubmitted;
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

        /// <summary>
        /// GET /api/jobs/{id}/logs, read only up to <paramref name="maxBytes"/>: the dashboard
        /// returns the whole file in one JSON string, so anything bigger is refused rather than held.
        /// </summary>
        public Task<string?> GetLogsAsync(string id, int maxBytes, CancellationToken ct) =>
            WithRetriesAsync(async t =>
            {
                var path = JobPath(id) + "/logs";
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(t);
                cts.CancelAfter(_options.LogReadTimeout);
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_base, path));
                    using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
                    var status = (int)response.StatusCode;
                    if (status == 404) return null;
                    using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                    var bytes = await ReadBoundedAsync(stream, maxBytes, cts.Token).ConfigureAwait(false);
                    if (bytes == null)
                        throw new RayApiException(Address, "GET", "/" + path, status, $"the log is larger than {maxBytes / (1024 * 1024)} MiB; read it with a tail instead");
                    var text = Encoding.UTF8.GetString(bytes);
                    if (status < 200 || status >= 300) throw Error("GET", path, status, text);
                    using var doc = JsonDocument.Parse(text);
                    return doc.RootElement.TryGetProperty("logs", out var logs) ? logs.GetString() ?? "" : "";
                }
                catch (OperationCanceledException) when (!t.IsCancellationRequested)
                {
                    throw new RayConnectionException($"No complete answer from the Ray dashboard at {Address} to GET /{path} within {_options.LogReadTimeout.TotalSeconds:0.#} s.", isTimeout: true);
                }
                catch (HttpRequestException ex)
                {
                    throw Unreachable("GET", path, ex);
                }
            }, ct);

        /// <summary>
        /// Streams the job's log through the tail WebSocket (/api/jobs/{id}/logs/tail), handing each
        /// text frame to <paramref name="onText"/>; nothing is kept here. Returns true when the server
        /// closed the socket (the job is over and its log read to the end), false when
        /// <paramref name="idleCutoff"/> passed with no new text (a job still running). Throws
        /// <see cref="RayJobNotFoundException"/> for a job the dashboard does not know.
        /// </summary>
        public async Task<bool> TailLogsAsync(string id, Action<string> onText, TimeSpan? idleCutoff, CancellationToken ct)
        {
            var path = JobPath(id) + "/logs/tail";
            var builder = new UriBuilder(new Uri(_base, path));
            builder.Scheme = builder.Scheme == "https" ? "wss" : "ws";
            using var socket = new ClientWebSocket();
            try
            {
                socket.Options.SetRequestHeader("User-Agent", UserAgent);
            }
            catch (ArgumentException)
            {
                // .NET Framework treats User-Agent as restricted here; it then sends none, which is just as safe.
            }
            if (_token != null) socket.Options.SetRequestHeader("Authorization", "Bearer " + _token);
            foreach (var header in ValidatedExtraHeaders(_options.Headers)) socket.Options.SetRequestHeader(header.Key, header.Value);

            using var total = CancellationTokenSource.CreateLinkedTokenSource(ct);
            total.CancelAfter(_options.LogReadTimeout);
            try
            {
                using (var connect = CancellationTokenSource.CreateLinkedTokenSource(total.Token))
                {
                    connect.CancelAfter(_options.RequestTimeout);
                    try
                    {
                        await socket.ConnectAsync(builder.Uri, connect.Token).ConfigureAwait(false);
                    }
                    catch (WebSocketException ex)
                    {
                        // The upgrade was refused: ask plainly, so a 404 becomes a clear "no such job".
                        var (status, text) = await SendAsync(HttpMethod.Get, JobPath(id), null, _options.RequestTimeout, ct).ConfigureAwait(false);
                        if (status == 404) throw new RayJobNotFoundException(Address, id);
                        throw new RayConnectionException($"The Ray dashboard at {Address} refused the log WebSocket for job '{id}' ({ex.Message}); GET of the job answered {status}.", isTimeout: false, ex);
                    }
                }

                var buffer = new byte[16 * 1024];
                var decoder = Encoding.UTF8.GetDecoder();
                var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
                while (true)
                {
                    using var idle = CancellationTokenSource.CreateLinkedTokenSource(total.Token);
                    if (idleCutoff.HasValue) idle.CancelAfter(idleCutoff.Value);
                    WebSocketReceiveResult result;
                    try
                    {
                        result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer), idle.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!total.IsCancellationRequested)
                    {
                        return false; // idle: the job is still running and has said all it has for now
                    }
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        try { await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).ConfigureAwait(false); }
                        catch (WebSocketException) { }
                        return true;
                    }
                    var n = decoder.GetChars(buffer, 0, result.Count, chars, 0, flush: false);
                    if (n > 0) onText(new string(chars, 0, n));
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new RayConnectionException($"Reading the log of job '{id}' from {Address} did not finish within {_options.LogReadTimeout.TotalSeconds:0.#} s.", isTimeout: true);
            }
            catch (WebSocketException ex)
            {
                // Close code 1006 (the connection dropped): the log was not read to its end.
                throw new RayConnectionException($"The log WebSocket of job '{id}' at {Address} broke off: {ex.Message}", isTimeout: false, ex);
            }
        }

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

        // ------------------------------------------------------------------------------------
        // Plumbing
        // ------------------------------------------------------------------------------------

        static string JobPath(string id) => "api/jobs/" + Uri.EscapeDataString(id);

        /// <summary>Sends one request with its own timeout; returns the status and the body text. Transport failures become <see cref="RayConnectionException"/>.</summary>
        async Task<(int Status, string Text)> SendAsync(HttpMethod method, string path, HttpContent? content, TimeSpan timeout, CancellationToken ct)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout);
            try
            {
                using var request = new HttpRequestMessage(method, new Uri(_base, path)) { Content = content };
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cts.Token).ConfigureAwait(false);
                var text = response.Content == null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                return ((int)response.StatusCode, text);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new RayConnectionException($"No answer from the Ray dashboard at {Address} to {method} /{TrimQuery(path)} within {timeout.TotalSeconds:0.###} s.", isTimeout: true);
            }
            catch (HttpRequestException ex)
            {
                throw Unreachable(method.Method, path, ex);
            }
            catch (IOException ex)
            {
                throw Unreachable(method.Method, path, ex);
            }
        }

        /// <summary>A JSON answer; null for 404; a <see cref="RayApiException"/> for any other non-2xx.</summary>
        async Task<JsonDocument?> SendJsonAsync(HttpMethod method, string path, HttpContent? content, TimeSpan timeout, CancellationToken ct)
        {
            var (status, text) = await SendAsync(method, path, content, timeout, ct).ConfigureAwait(false);
            if (status == 404) return null;
            if (status < 200 || status >= 300) throw Error(method.Method, path, status, text);
            try
            {
                return JsonDocument.Parse(text);
            }
            catch (JsonException)
            {
                throw new RayApiException(Address, method.Method, "/" + TrimQuery(path), status, "the answer is not JSON: " + RayErrorText.Summarize(RayErrorText.Scrub(text, _token)));
            }
        }

        /// <summary>Retries <paramref name="call"/> after transient failures with a doubling delay.</summary>
        async Task<T> WithRetriesAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken ct, bool retryServerErrors = true)
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    return await call(ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (attempt < _options.MaxRetries && IsTransient(ex, retryServerErrors) && !ct.IsCancellationRequested)
                {
                    await DelayAsync(attempt + 1, ct).ConfigureAwait(false);
                }
            }
        }

        internal static bool IsTransient(Exception ex, bool retryServerErrors = true) =>
            ex is RayConnectionException || (retryServerErrors && ex is RayApiException api && api.IsTransient) || ex is JsonException;

        Task DelayAsync(int attempt, CancellationToken ct)
        {
            var ms = _options.RetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 10));
            return Task.Delay(TimeSpan.FromMilliseconds(Math.Min(ms, 5000)), ct);
        }

        static async Task<byte[]?> ReadBoundedAsync(Stream stream, int maxBytes, CancellationToken ct)
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(chunk, 0, chunk.Length, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > maxBytes) return null;
                buffer.Write(chunk, 0, read);
            }
            return buffer.ToArray();
        }

        RayApiException Error(string method, string path, int status, string body)
        {
            var message = RayErrorText.Summarize(RayErrorText.Scrub(body, _token));
            if (status == 401)
                message += ". The cluster wants a token: pass -Token, or set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH); 'ray get-auth-token' prints it";
            else if (status == 403 && _token != null)
                message += ". The token RayRunner sent was refused: check it against 'ray get-auth-token' on the head";
            return new RayApiException(Address, method, "/" + TrimQuery(path), status, message);
        }

        RayConnectionException Unreachable(string method, string path, Exception ex) =>
            new RayConnectionException($"Could not reach the Ray dashboard at {Address} ({method} /{TrimQuery(path)}): {RayErrorText.Scrub(ex.GetBaseException().Message, _token)}", isTimeout: false, ex);

        static string TrimQuery(string path)
        {
            var q = path.IndexOf('?');
            return q < 0 ? path : path.Substring(0, q);
        }

        public void Dispose() => _http.Dispose();
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
