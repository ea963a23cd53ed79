using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace RayRunner.Core
{
    /// <summary>
    /// The listing side of the store: one look at the folders, the listing index (summaries, checked
    /// against each run.json's stamp) and the whole records read on demand. See docs/run-store.md,
    /// "The listing index".
    /// </summary>
    public sealed partial class FileRunStore
    {
        /// <summary>Whole records this store read or wrote, with the stamp of the run.json they came from.</summary>
        readonly ConcurrentDictionary<string, StampedRecord> _records = new ConcurrentDictionary<string, StampedRecord>(StringComparer.Ordinal);

        sealed class StampedRecord
        {
            public StampedRecord(string stamp, RunRecord record)
            {
                Stamp = stamp;
                Record = record;
            }

            public string Stamp { get; }
            public RunRecord Record { get; }
        }

        public IReadOnlyList<StoreProblem> ListDamaged() => Scan().Damaged;

        public IReadOnlyList<RunRecord> List() => ListAll().Records;

        public StoreListing ListAll()
        {
            var scan = Scan();
            // A reader leaves the index as it is: the scan is right without it (it checks every entry).
            if (scan.IndexNeedsRewrite && !_readOnly)
            {
                // Rewrite under the lock from a fresh scan, so no Save made meanwhile is lost.
                WithLock(() =>
                {
                    var fresh = Scan();
                    _index.Rewrite(fresh.Entries);
                    scan = fresh;
                    return 0;
                });
            }
            var summaries = scan.Entries
                .OrderBy(s => s.CreatedAt).ThenBy(s => s.RunId, StringComparer.Ordinal).ToList();
            return new StoreListing(summaries, Load, scan.Damaged);
        }

        /// <summary>Rewrites the index from a fresh look at the folders (called under the store lock).</summary>
        void Compact() => _index.Rewrite(Scan().Entries);

        /// <summary>
        /// The whole record of a listed run: from this store's cache when the summary's stamp says
        /// the cached record is the one on disk, else read from run.json (the freshest there is).
        /// </summary>
        RunRecord? Load(RunSummary summary)
        {
            if (summary.Stamp.Length > 0 && _records.TryGetValue(summary.RunId, out var cached) && cached.Stamp == summary.Stamp)
                return cached.Record;
            if (!RunIds.IsValid(summary.RunId)) return null;
            var path = Path.Combine(RunFolder(summary.RunId), RecordFileName);
            var before = RunIndex.StampOf(path);
            var record = Read(summary.RunId, path);
            // Kept only when the file did not change while it was read, so a stamp never names another record.
            if (record != null && before != null && before == RunIndex.StampOf(path))
                _records[summary.RunId] = new StampedRecord(before, record);
            return record;
        }

        // ------------------------------------------------------------------------------------
        // Listing: the index is a cache, checked against the folders on every listing
        // ------------------------------------------------------------------------------------

        sealed class ScanResult
        {
            public List<RunSummary> Entries { get; } = new List<RunSummary>();
            /// <summary>Run folders whose run.json cannot be read.</summary>
            public List<StoreProblem> Damaged { get; } = new List<StoreProblem>();
            public bool IndexNeedsRewrite;
        }

        /// <summary>
        /// Lists the run folders and takes each record from the index when the index entry's stamp
        /// (size and write time of run.json) matches the file, else from the file itself. So the
        /// index can be missing, damaged or behind (a crash between writing a record and appending
        /// its index line) without a listing ever being wrong.
        /// </summary>
        ScanResult Scan()
        {
            var index = _index.Read();
            var result = new ScanResult { IndexNeedsRewrite = index.DamagedLines > 0 || index.Missing };
            IEnumerable<string> folders;
            try
            {
                folders = Directory.EnumerateDirectories(RunsFolder).Select(Path.GetFileName).ToList()!;
            }
            catch (DirectoryNotFoundException)
            {
                return result;
            }
            var seen = 0;
            foreach (var name in folders)
            {
                if (name.StartsWith(DeletedPrefix, StringComparison.Ordinal)) continue;
                var folder = Path.Combine(RunsFolder, name);
                if (!RunIds.IsValid(name))
                {
                    Report(null, folder, "is not a run folder (its name is not a valid run id); it is ignored.");
                    continue;
                }
                var path = Path.Combine(folder, RecordFileName);
                var stamp = RunIndex.StampOf(path);
                if (stamp == null)
                {
                    // Made by a process that died before its first record was complete; nothing was
                    // ever reported to a caller about it.
                    Report(name, folder, "holds no run.json (a run whose first write was interrupted); it is ignored.");
                    continue;
                }
                if (index.Entries.TryGetValue(name, out var cached) && cached.Stamp == stamp)
                {
                    result.Entries.Add(cached);
                    seen++;
                    continue;
                }
                var record = Read(name, path, out var problem);
                if (record != null)
                {
                    result.Entries.Add(RunSummary.Of(record, stamp));
                    if (stamp == RunIndex.StampOf(path)) _records[name] = new StampedRecord(stamp, record);
                    result.IndexNeedsRewrite = true;
                }
                // A damaged record has no index entry: rewriting the index would not change that.
                else if (problem != null) result.Damaged.Add(problem);
            }
            if (seen != index.Entries.Count || index.Lines > 2 * index.Entries.Count + 64)
                result.IndexNeedsRewrite = true;
            return result;
        }
    }
}
