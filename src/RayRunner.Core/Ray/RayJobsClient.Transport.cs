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
    /// <summary>The plumbing under every call: one request with its own timeout, JSON answers, retries with backoff, readable errors.</summary>
    public sealed partial class RayJobsClient
    {
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
                    _options.Log?.Invoke($"{ex.Message} Retrying in {DelayOf(attempt + 1).TotalSeconds:0.##} s (try {attempt + 2} of {_options.MaxRetries + 1}).");
                    await DelayAsync(attempt + 1, ct).ConfigureAwait(false);
                }
            }
        }

        internal static bool IsTransient(Exception ex, bool retryServerErrors = true) =>
            ex is RayConnectionException || (retryServerErrors && ex is RayApiException api && api.IsTransient) || ex is JsonException;

        Task DelayAsync(int attempt, CancellationToken ct) => Task.Delay(DelayOf(attempt), ct);

        /// <summary>The backoff before try <paramref name="attempt"/>+1: doubling from RetryDelay, capped at 5 s.</summary>
        TimeSpan DelayOf(int attempt)
        {
            var ms = _options.RetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 10));
            return TimeSpan.FromMilliseconds(Math.Min(ms, 5000));
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
}
