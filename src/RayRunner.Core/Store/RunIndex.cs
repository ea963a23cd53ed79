using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;

namespace RayRunner.Core
{
    /// <summary>
    /// <c>index.jsonl</c>, the listing index (format 2): a header line <c>{"format":2,"generation":"..."}</c>,
    /// then one <see cref="RunSummary"/> per record write, the last line for a run winning. Appending
    /// is cheap (no rewrite per save); listing reads one small file instead of one per run, and only
    /// summaries: a record's config, output and past attempts stay in its run.json until asked for.
    /// It is only a cache: <see cref="FileRunStore"/> checks each summary's stamp against the run's
    /// folder and rewrites the index whenever they disagree, so a missing, truncated, stale or
    /// old-format index costs time, never correctness.
    /// </summary>
    /// <remarks>
    /// Versioned by its header: an index without one (format 1, full records per line, written
    /// before issue 14) or with another format is not read at all (as if missing), so the next
    /// listing that may write rebuilds it; lines a format-1 writer appends to a format-2 index
    /// do not parse as summaries and count as damaged, which also rebuilds it.
    /// Within one process the index is read incrementally: only lines appended since the last read
    /// are parsed, unless the file was rewritten (its header's generation id changes on every
    /// rewrite) or shrank. Any staleness this could cause is caught by the stamps.
    /// </remarks>
    internal sealed class RunIndex
    {
        public const int CurrentFormat = 2;

        readonly string _path;
        readonly object _gate = new object();
        Snapshot _cached = new Snapshot { Missing = true };
        long _offset;
        string? _generation;

        public RunIndex(string path) => _path = path;

        public sealed class Snapshot
        {
            public Dictionary<string, RunSummary> Entries { get; } = new Dictionary<string, RunSummary>(StringComparer.Ordinal);
            public int Lines;
            public int DamagedLines;
            /// <summary>No index to read: absent, unreadable, or of another format.</summary>
            public bool Missing;
        }

        sealed class Header
        {
            public int Format { get; set; }
            public string? Generation { get; set; }
            /// <summary>How many bytes of summaries the rewrite wrote: the index is compacted once it is twice that.</summary>
            public long LiveBytes { get; set; }
        }

        /// <summary>Size and last write time of run.json (rename replaces the file, so both move on every save); null when absent.</summary>
        public static string? StampOf(string recordPath)
        {
            var info = new FileInfo(recordPath);
            if (!info.Exists) return null;
            return info.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" +
                   info.LastWriteTimeUtc.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        /// <summary>Below this size the index is never compacted during saves (a listing still does, see FileRunStore).</summary>
        const long CompactionFloorBytes = 64 * 1024;

        /// <summary>
        /// Appends one summary (a header first when the index is new). Called under the store lock,
        /// after the record itself is in place. True when the index has grown to more than twice the
        /// summaries its last rewrite held (every save appends a line, so a sweep of N runs leaves
        /// about five lines per run): the caller compacts it then, so a new session never parses
        /// many times more lines than there are runs.
        /// </summary>
        public bool Append(RunSummary summary)
        {
            var line = Serialize(summary) + "\n";
            var info = new FileInfo(_path);
            var length = info.Exists ? info.Length : 0;
            if (length == 0) line = HeaderLine(Guid.NewGuid().ToString("N"), 0) + line;
            var bytes = Encoding.UTF8.GetBytes(line);
            PrivateFiles.Append(_path, bytes);
            length += bytes.Length;
            return length > CompactionFloorBytes && length > 2 * LiveBytesOfRewrite() + CompactionFloorBytes / 4;
        }

        long LiveBytesOfRewrite()
        {
            try
            {
                using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                return ReadHeader(stream).LiveBytes;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return long.MaxValue / 4; // cannot tell: leave it to the next listing
            }
        }

        /// <summary>Replaces the whole index with these summaries (called under the store lock).</summary>
        public void Rewrite(IEnumerable<RunSummary> entries)
        {
            var generation = Guid.NewGuid().ToString("N");
            var body = new StringBuilder();
            var snapshot = new Snapshot();
            foreach (var e in entries)
            {
                body.Append(Serialize(e)).Append('\n');
                snapshot.Entries[e.RunId] = e;
                snapshot.Lines++;
            }
            var summaries = Encoding.UTF8.GetBytes(body.ToString());
            var header = Encoding.UTF8.GetBytes(HeaderLine(generation, summaries.Length));
            var bytes = new byte[header.Length + summaries.Length];
            Buffer.BlockCopy(header, 0, bytes, 0, header.Length);
            Buffer.BlockCopy(summaries, 0, bytes, header.Length, summaries.Length);
            PrivateFiles.WriteAtomic(_path, bytes, flushToDisk: false);
            lock (_gate)
            {
                _cached = snapshot;
                _offset = bytes.Length;
                _generation = generation;
            }
        }

        static string HeaderLine(string generation, long liveBytes) =>
            JsonSerializer.Serialize(new Header { Format = CurrentFormat, Generation = generation, LiveBytes = liveBytes }, RayRunnerJson.Options) + "\n";

        static string Serialize(RunSummary summary) => JsonSerializer.Serialize(summary, RayRunnerJson.Options);

        /// <summary>
        /// Reads every summary it can; damaged lines (a torn last append, garbage, a format-1 line)
        /// are counted and skipped. Returns a snapshot the caller must not change.
        /// </summary>
        public Snapshot Read()
        {
            lock (_gate)
            {
                try
                {
                    using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    var length = stream.Length;
                    var (generation, headerLength, _) = ReadHeader(stream);
                    if (generation == null)
                        return Forget();
                    if (_cached.Missing || length < _offset || generation != _generation)
                    {
                        _cached = new Snapshot();
                        _offset = headerLength;
                        _generation = generation;
                    }
                    if (length > _offset)
                    {
                        var fresh = Copy(_cached);
                        stream.Seek(_offset, SeekOrigin.Begin);
                        var bytes = ReadFully(stream, length - _offset);
                        _offset += ParseLines(bytes, fresh);
                        _cached = fresh;
                    }
                    return _cached;
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    // Missing or unreadable: the caller lists from the folders and rewrites it.
                    return Forget();
                }
            }
        }

        Snapshot Forget()
        {
            _cached = new Snapshot { Missing = true };
            _offset = 0;
            _generation = null;
            return _cached;
        }

        static Snapshot Copy(Snapshot from)
        {
            var copy = new Snapshot { Lines = from.Lines, DamagedLines = from.DamagedLines };
            foreach (var kv in from.Entries) copy.Entries[kv.Key] = kv.Value;
            return copy;
        }

        /// <summary>The generation, length and live bytes of a format-2 header line; (null, 0, 0) for anything else.</summary>
        static (string? Generation, long Length, long LiveBytes) ReadHeader(FileStream stream)
        {
            var head = new byte[Math.Min(stream.Length, 256)];
            var n = stream.Read(head, 0, head.Length);
            var end = Array.IndexOf(head, (byte)'\n', 0, n);
            if (end <= 0) return (null, 0, 0);
            try
            {
                var header = JsonSerializer.Deserialize<Header>(new ReadOnlySpan<byte>(head, 0, end), RayRunnerJson.Options);
                return header != null && header.Format == CurrentFormat && !string.IsNullOrEmpty(header.Generation)
                    ? (header.Generation, end + 1, header.LiveBytes) : (null, 0, 0);
            }
            catch (JsonException)
            {
                return (null, 0, 0);
            }
        }

        static byte[] ReadFully(Stream stream, long count)
        {
            var bytes = new byte[count];
            var read = 0;
            while (read < bytes.Length)
            {
                var n = stream.Read(bytes, read, bytes.Length - read);
                if (n == 0) break;
                read += n;
            }
            if (read < bytes.Length) Array.Resize(ref bytes, read);
            return bytes;
        }

        /// <summary>Parses the complete lines; returns how many bytes they took (a torn last line waits for its end).</summary>
        [System.Runtime.CompilerServices.MethodImpl(RunSummaryReader.Hot)]
        static long ParseLines(byte[] bytes, Snapshot into)
        {
            var start = 0;
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] != (byte)'\n') continue;
                var length = i - start;
                if (length > 0)
                {
                    into.Lines++;
                    var summary = RunSummaryReader.TryRead(new ReadOnlySpan<byte>(bytes, start, length));
                    if (summary != null && summary.Stamp.Length > 0 && RunIds.IsValid(summary.RunId))
                        into.Entries[summary.RunId] = summary;
                    else
                        into.DamagedLines++;
                }
                start = i + 1;
            }
            return start;
        }

    }
}
