using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace RayRunner.Core
{
    /// <summary>
    /// Keeps the store's logs within its <see cref="LogRetention"/>: a finished run's logs are cut to
    /// their tails, and when all logs together grow too big the oldest finished runs' logs are emptied.
    /// A run's logs are all its attempts' (output.log, then output.a2.log, ... of a retried run): they
    /// share the run's cap, the last attempt's kept first, since the run's result and error are there.
    /// Only logs of finished runs are touched; records never are.
    /// </summary>
    internal sealed class LogTrimmer
    {
        readonly LogRetention _retention;
        readonly Func<IReadOnlyList<RunSummary>> _listRuns;
        readonly Func<string, string> _folderOf;
        readonly Action<Action> _underStoreLock;
        long _logBytesTally = -1; // -1: not counted yet in this process

        /// <param name="listRuns">The store's runs, as listed (to find finished runs' logs).</param>
        /// <param name="folderOf">A run id's folder, where its logs are (<see cref="FileRunStore.LogFileName"/>, output.aN.log).</param>
        /// <param name="underStoreLock">Runs a write under the store lock, as every store write is.</param>
        public LogTrimmer(LogRetention retention, Func<IReadOnlyList<RunSummary>> listRuns, Func<string, string> folderOf, Action<Action> underStoreLock)
        {
            _retention = retention;
            _listRuns = listRuns;
            _folderOf = folderOf;
            _underStoreLock = underStoreLock;
        }

        /// <summary>A run just ended: caps its logs together, then the total when the running tally passes the cap.</summary>
        public void AfterRunEnded(string runId)
        {
            long left = _retention.MaxBytesPerRun, size = 0;
            foreach (var log in LogsIn(_folderOf(runId)))
            {
                var kept = TrimToTail(log, left);
                left = Math.Max(0, left - kept);
                size += kept;
            }
            if (_logBytesTally < 0 || (_logBytesTally += size) > _retention.MaxTotalBytes)
                _logBytesTally = EnforceTotal();
        }

        /// <summary>Empties the logs of the oldest finished runs until all logs fit; returns the total kept.</summary>
        public long EnforceTotal()
        {
            var logs = new List<(string Path, long Size, DateTimeOffset Finished, bool Final)>();
            // A run's first attempt first: of the oldest run, the attempt that matters least goes first.
            // Summaries suffice (id, end time, final): no run's whole record is read.
            foreach (var run in _listRuns())
                foreach (var log in LogsIn(_folderOf(run.RunId)).Reverse())
                {
                    var info = new FileInfo(log);
                    if (!info.Exists) continue;
                    logs.Add((log, info.Length, run.CompletedAt ?? run.CreatedAt, run.IsFinal));
                }
            var total = logs.Sum(l => l.Size);
            foreach (var log in logs.Where(l => l.Final).OrderBy(l => l.Finished))
            {
                if (total <= _retention.MaxTotalBytes) break;
                var kept = TrimToTail(log.Path, 0);
                total -= log.Size - kept;
            }
            return total;
        }

        /// <summary>A run's logs in its folder, its last attempt's first: output.aN.log (retries, see <see cref="FileRunStore.LogPathFor"/>) down to output.log.</summary>
        internal static IReadOnlyList<string> LogsIn(string folder)
        {
            var byAttempt = new List<(int Attempt, string Path)> { (1, Path.Combine(folder, FileRunStore.LogFileName)) };
            if (Directory.Exists(folder))
                foreach (var path in Directory.GetFiles(folder, RetryLogPrefix + "*.log"))
                {
                    var number = Path.GetFileNameWithoutExtension(path).Substring(RetryLogPrefix.Length); // output.aN -> N
                    if (int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var attempt) && attempt > 1)
                        byAttempt.Add((attempt, path));
                }
            return byAttempt.OrderByDescending(l => l.Attempt).Select(l => l.Path).ToList();
        }

        const string RetryLogPrefix = "output.a";

        /// <summary>Keeps the last <paramref name="maxBytes"/> of a log behind a note saying what was cut; returns the new size.</summary>
        long TrimToTail(string log, long maxBytes)
        {
            var info = new FileInfo(log);
            if (!info.Exists || info.Length <= maxBytes) return info.Exists ? info.Length : 0;
            var keep = (int)Math.Min(maxBytes, int.MaxValue / 2);
            var tail = new byte[keep];
            using (var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            {
                stream.Seek(-keep, SeekOrigin.End);
                var read = 0;
                while (read < keep)
                {
                    var n = stream.Read(tail, read, keep - read);
                    if (n == 0) break;
                    read += n;
                }
            }
            var note = Encoding.UTF8.GetBytes(
                $"[RayRunner: {info.Length - keep} bytes of earlier output were removed by the store's log retention ({DateTimeOffset.UtcNow:u}).]\n");
            var content = new byte[note.Length + keep];
            Buffer.BlockCopy(note, 0, content, 0, note.Length);
            Buffer.BlockCopy(tail, 0, content, note.Length, keep);
            _underStoreLock(() => PrivateFiles.WriteAtomic(log, content));
            return content.Length;
        }
    }
}
