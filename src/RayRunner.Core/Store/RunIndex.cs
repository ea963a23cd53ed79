using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;

namespace RayRunner.Core
{
    /// <summary>
    /// <c>index.jsonl</c>: one line per record write, <c>{"stamp": "...", "record": {...}}</c>, the
    /// last line for a run winning. Appending is cheap (no rewrite per save); listing reads one
    /// file instead of one per run. It is only a cache: <see cref="FileRunStore"/> checks each entry's
    /// stamp against the run's folder and rewrites the index whenever they disagree, so a missing,
    /// truncated or stale index costs time, never correctness.
    /// </summary>
    /// <remarks>
    /// Within one process the index is read incrementally: only lines appended since the last read
    /// are parsed, unless the file was rewritten (its first line carries a generation id that
    /// changes on every rewrite) or shrank. Any staleness this could cause is caught by the stamps.
    /// </remarks>
    internal sealed class RunIndex
    {
        readonly string _path;
        readonly object _gate = new object();
        Snapshot _cached = new Snapshot { Missing = true };
        long _offset;
        string? _generation;

        public RunIndex(string path) => _path = path;

        public sealed class Entry
        {
            public Entry(string stamp, RunRecord record)
            {
                Stamp = stamp;
                Record = record;
            }

            public string Stamp { get; }
            public RunRecord Record { get; }
        }

        public sealed class Snapshot
        {
            public Dictionary<string, Entry> Entries { get; } = new Dictionary<string, Entry>(StringComparer.Ordinal);
            public int Lines;
            public int DamagedLines;
            public bool Missing;
        }

        sealed class Line
        {
            public string? Stamp { get; set; }
            public RunRecord? Record { get; set; }
            /// <summary>Only on the first line of a rewritten index.</summary>
            public string? Generation { get; set; }
        }

        /// <summary>Size and last write time of run.json (rename replaces the file, so both move on every save); null when absent.</summary>
        public static string? StampOf(string recordPath)
        {
            var info = new FileInfo(recordPath);
            if (!info.Exists) return null;
            return info.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" +
                   info.LastWriteTimeUtc.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        /// <summary>Appends one entry. Called under the store lock, after the record itself is in place.</summary>
        public void Append(string? stamp, RunRecord record)
        {
            if (stamp == null) return;
            PrivateFiles.Append(_path, Encoding.UTF8.GetBytes(Serialize(stamp, record) + "\n"));
        }

        /// <summary>Replaces the whole index with these entries (called under the store lock).</summary>
        public void Rewrite(IEnumerable<Entry> entries)
        {
            var generation = Guid.NewGuid().ToString("N");
            var sb = new StringBuilder();
            sb.Append(JsonSerializer.Serialize(new Line { Generation = generation }, RayRunnerJson.Options)).Append('\n');
            var snapshot = new Snapshot();
            foreach (var e in entries)
            {
                sb.Append(Serialize(e.Stamp, e.Record)).Append('\n');
                snapshot.Entries[e.Record.RunId] = e;
                snapshot.Lines++;
            }
            var bytes = Encoding.UTF8.GetBytes(sb.ToString());
            PrivateFiles.WriteAtomic(_path, bytes, flushToDisk: false);
            lock (_gate)
            {
                _cached = snapshot;
                _offset = bytes.Length;
                _generation = generation;
            }
        }

        static string Serialize(string stamp, RunRecord record) =>
            JsonSerializer.Serialize(new Line { Stamp = stamp, Record = record }, RayRunnerJson.Options);

        /// <summary>
        /// Reads every entry it can; damaged lines (a torn last append, garbage) are counted and
        /// skipped. Returns a snapshot the caller must not change.
        /// </summary>
        public Snapshot Read()
        {
            lock (_gate)
            {
                try
                {
                    using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    var length = stream.Length;
                    var generation = ReadGeneration(stream);
                    if (_cached.Missing || length < _offset || generation != _generation)
                    {
                        _cached = new Snapshot();
                        _offset = 0;
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
                    _cached = new Snapshot { Missing = true };
                    _offset = 0;
                    _generation = null;
                    return _cached;
                }
            }
        }

        static Snapshot Copy(Snapshot from)
        {
            var copy = new Snapshot { Lines = from.Lines, DamagedLines = from.DamagedLines };
            foreach (var kv in from.Entries) copy.Entries[kv.Key] = kv.Value;
            return copy;
        }

        static string? ReadGeneration(FileStream stream)
        {
            var head = new byte[Math.Min(stream.Length, 128)];
            var n = stream.Read(head, 0, head.Length);
            var text = Encoding.UTF8.GetString(head, 0, n);
            const string marker = "{\"generation\":\"";
            if (!text.StartsWith(marker, StringComparison.Ordinal)) return null;
            var end = text.IndexOf('"', marker.Length);
            return end < 0 ? null : text.Substring(marker.Length, end - marker.Length);
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
        static long ParseLines(byte[] bytes, Snapshot into)
        {
            var start = 0;
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] != (byte)'\n') continue;
                var length = i - start;
                if (length > 0)
                {
                    var line = TryParse(new ReadOnlySpan<byte>(bytes, start, length));
                    if (line?.Generation != null && line.Record == null)
                    {
                        // the header of a rewritten index
                    }
                    else if (line?.Record != null && line.Stamp != null && RunIds.IsValid(line.Record.RunId))
                    {
                        into.Lines++;
                        into.Entries[line.Record.RunId] = new Entry(line.Stamp, line.Record);
                    }
                    else
                    {
                        into.Lines++;
                        into.DamagedLines++;
                    }
                }
                start = i + 1;
            }
            return start;
        }

        static Line? TryParse(ReadOnlySpan<byte> utf8)
        {
            try
            {
                return JsonSerializer.Deserialize<Line>(utf8, RayRunnerJson.Options);
            }
            catch (Exception ex) when (ex is JsonException || ex is NotSupportedException || ex is InvalidOperationException || ex is ArgumentException || ex is FormatException)
            {
                return null;
            }
        }
    }
}
