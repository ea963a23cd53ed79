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
    /// <summary>Reading a job's log: the tail WebSocket (streamed, bounded memory) and GET /logs (whole file, size-capped).</summary>
    public sealed partial class RayJobsClient
    {
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
                        // Bounded on its own: the caller's token may already be spent, and a close must not hang.
                        using var closing = new CancellationTokenSource(_options.RequestTimeout);
                        try { await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", closing.Token).ConfigureAwait(false); }
                        catch (OperationCanceledException) { }
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
    }
}
