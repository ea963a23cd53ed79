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
    internal sealed class RunIndex
    {
        readonly string _path;

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
            PrivateFiles.AppendDurable(_path, Encoding.UTF8.GetBytes(Serialize(stamp, record) + "\n"));
        }

        /// <summary>Replaces the whole index with these entries (called under the store lock).</summary>
        public void Rewrite(IEnumerable<Entry> entries)
        {
            var sb = new StringBuilder();
            foreach (var e in entries) sb.Append(Serialize(e.Stamp, e.Record)).Append('\n');
            PrivateFiles.WriteAtomic(_path, Encoding.UTF8.GetBytes(sb.ToString()));
        }

        static string Serialize(string stamp, RunRecord record) =>
            JsonSerializer.Serialize(new Line { Stamp = stamp, Record = record }, RayRunnerJson.Options);

        /// <summary>Reads every entry it can; damaged lines (a torn last append, garbage) are counted and skipped.</summary>
        public Snapshot Read()
        {
            var snapshot = new Snapshot();
            byte[] bytes;
            try
            {
                using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                bytes = new byte[stream.Length];
                var read = 0;
                while (read < bytes.Length)
                {
                    var n = stream.Read(bytes, read, bytes.Length - read);
                    if (n == 0) break;
                    read += n;
                }
                if (read < bytes.Length) Array.Resize(ref bytes, read);
            }
            catch (Exception ex) when (ex is FileNotFoundException || ex is DirectoryNotFoundException)
            {
                snapshot.Missing = true;
                return snapshot;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                snapshot.Missing = true; // unreadable: list from the folders and rewrite it
                return snapshot;
            }

            var start = 0;
            for (var i = 0; i <= bytes.Length; i++)
            {
                if (i < bytes.Length && bytes[i] != (byte)'\n') continue;
                var length = i - start;
                if (length > 0)
                {
                    snapshot.Lines++;
                    var line = TryParse(new ReadOnlySpan<byte>(bytes, start, length));
                    if (line?.Record != null && line.Stamp != null && RunIds.IsValid(line.Record.RunId))
                        snapshot.Entries[line.Record.RunId] = new Entry(line.Stamp, line.Record);
                    else
                        snapshot.DamagedLines++;
                }
                start = i + 1;
            }
            return snapshot;
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
