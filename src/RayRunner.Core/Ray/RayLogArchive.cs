using System;
using System.Collections.Concurrent;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Ray
{
    /// <summary>What reading a finished job's log gave: its last result line, and whether the whole log is now in the run store.</summary>
    internal sealed class ArchivedLog
    {
        public ArchivedLog(LogLineScanner scanner, string? keptAt)
        {
            Scanner = scanner;
            KeptAt = keptAt;
        }

        public LogLineScanner Scanner { get; }
        /// <summary>The run store's file that now holds the log; null when it was not kept (no store, or writing failed).</summary>
        public string? KeptAt { get; }
    }

    /// <summary>
    /// Reads a finished job's log once and keeps it in the run store, so it outlives the job's
    /// deletion, <c>ray stop</c> and this session. The job has ended, so GET /logs returns the whole
    /// log (up to <see cref="RayBackendOptions.LogFallbackMaxBytes"/>) in one request, and that is
    /// what is scanned and kept: a tail can lose its last lines (ray#46413, ray#48701), the whole
    /// file cannot. Only a bigger log (or a GET that keeps failing) is streamed through the tail
    /// WebSocket into a private temp file (bounded memory). Per submission id: an attempt's own job
    /// is read and kept on its own.
    /// </summary>
    internal sealed class RayLogArchive
    {
        readonly RayJobsClient _client;
        readonly RayBackendOptions _options;
        readonly string _address;
        readonly CancellationToken _lifetime;
        readonly SemaphoreSlim _reads = new SemaphoreSlim(4);
        readonly ConcurrentDictionary<string, Lazy<Task<ArchivedLog>>> _read = new ConcurrentDictionary<string, Lazy<Task<ArchivedLog>>>(StringComparer.Ordinal);

        public RayLogArchive(RayJobsClient client, RayBackendOptions options, string address, CancellationToken lifetime)
        {
            _client = client;
            _options = options;
            _address = address;
            _lifetime = lifetime;
        }

        /// <summary>The run store's log file for the run, or null when there is no store (or it refuses the id).</summary>
        public string? PathFor(string runId)
        {
            if (_options.LogPathFor == null) return null;
            try
            {
                return _options.LogPathFor(runId);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is ArgumentException)
            {
                _options.Log?.Invoke($"The log of run {runId} cannot be kept in the run store: {ex.Message}");
                return null;
            }
        }

        /// <summary>The log of a finished job, read and kept once; a failed read may be tried again.</summary>
        public async Task<ArchivedLog> ReadAndKeepAsync(string runId, string id)
        {
            var lazy = _read.GetOrAdd(id, _ => new Lazy<Task<ArchivedLog>>(() => ReadOnceAsync(runId, id)));
            try
            {
                return await lazy.Value.ConfigureAwait(false);
            }
            catch (Exception)
            {
                ((System.Collections.Generic.ICollection<System.Collections.Generic.KeyValuePair<string, Lazy<Task<ArchivedLog>>>>)_read)
                    .Remove(new System.Collections.Generic.KeyValuePair<string, Lazy<Task<ArchivedLog>>>(id, lazy));
                throw;
            }
        }

        async Task<ArchivedLog> ReadOnceAsync(string runId, string id)
        {
            await _reads.WaitAsync(_lifetime).ConfigureAwait(false);
            try
            {
                var path = PathFor(runId);
                // The job has ended, so GET /logs answers with the whole file: one request, and no
                // tail to reconcile (a tail can lose its last lines, ray#46413). Only a log too big
                // for one answer, or a GET that keeps failing, is streamed through the tail.
                var whole = await TryFetchWholeAsync(id).ConfigureAwait(false);
                if (whole != null) return new ArchivedLog(ScanAll(whole), path == null ? null : Keep(path, whole, null));

                using var copy = path == null ? null : new TailCopy(path, _options.StoredLogMaxBytes);
                var scanner = await TailAsync(id, copy).ConfigureAwait(false)
                    ?? throw new RayConnectionException($"The log of Ray job {id} could not be read from {_address}: GET /logs and every try of the log tail failed (see -Verbose).", isTimeout: false);
                return new ArchivedLog(scanner, copy == null ? null : copy.Commit());
            }
            finally
            {
                _reads.Release();
            }
        }

        /// <summary>Streams the tail WebSocket, retrying broken streams; null when every try failed.</summary>
        async Task<LogLineScanner?> TailAsync(string id, TailCopy? copy)
        {
            for (var attempt = 0; attempt <= _options.MaxRetries; attempt++)
            {
                if (attempt > 0)
                {
                    var delay = TimeSpan.FromMilliseconds(Math.Min(5000, _options.RetryDelay.TotalMilliseconds * Math.Pow(2, attempt - 1)));
                    _options.Log?.Invoke($"Reading the log of Ray job {id} again in {delay.TotalSeconds:0.##} s (try {attempt + 1} of {_options.MaxRetries + 1}).");
                    await Task.Delay(delay, _lifetime).ConfigureAwait(false);
                }
                var scanner = new LogLineScanner();
                copy?.Restart();
                try
                {
                    if (await _client.TailLogsAsync(id, text => { scanner.Feed(text); copy?.Write(text); }, null, _lifetime).ConfigureAwait(false))
                    {
                        scanner.Complete();
                        return scanner;
                    }
                }
                catch (RayJobNotFoundException)
                {
                    throw;
                }
                catch (Exception ex) when (ex is RayConnectionException || ex is RayApiException)
                {
                    _options.Log?.Invoke($"Reading the log of Ray job {id} broke off: {ex.Message}");
                }
            }
            return null;
        }

        /// <summary>
        /// GET /logs once; null when the log is too big for one answer or the call keeps failing (the
        /// tail is read then). A job the dashboard does not know is <see cref="RayJobNotFoundException"/>.
        /// </summary>
        async Task<string?> TryFetchWholeAsync(string id)
        {
            try
            {
                return await _client.GetLogsAsync(id, _options.LogFallbackMaxBytes, _lifetime).ConfigureAwait(false)
                    ?? throw new RayJobNotFoundException(_address, id);
            }
            catch (Exception ex) when (ex is RayConnectionException || ex is RayApiException)
            {
                _options.Log?.Invoke($"The whole log of Ray job {id} could not be fetched ({ex.Message}); reading it through the log tail instead.");
                return null;
            }
        }

        static LogLineScanner ScanAll(string text)
        {
            var scanner = new LogLineScanner();
            scanner.Feed(text);
            scanner.Complete();
            return scanner;
        }

        string? Keep(string path, string text, TailCopy? copy)
        {
            try
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                if (bytes.LongLength > _options.StoredLogMaxBytes)
                    bytes = Encoding.UTF8.GetBytes(TailCopy.Cut(text.Substring(0, (int)Math.Min(text.Length, _options.StoredLogMaxBytes)), _options.StoredLogMaxBytes));
                PrivateFiles.WriteAtomic(path, bytes);
                copy?.Discard();
                return path;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                _options.Log?.Invoke($"The log could not be written to {path}: {ex.Message}; it stays only on the cluster.");
                return null;
            }
        }
    }
}
