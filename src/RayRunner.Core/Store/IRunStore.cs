using System;
using System.Collections.Generic;
using System.Linq;

namespace RayRunner.Core
{
    /// <summary>
    /// Where the runner records runs. The runner writes a record before it hands a run to the
    /// backend (<c>queued</c>), claims it while handing it over, records the submission (with the
    /// backend's <see cref="TaskRef"/> locator), and records the result before it reports that
    /// result, so a record is never behind what a caller has been told.
    /// </summary>
    /// <remarks>
    /// Implementations must be safe for several threads, and — for stores shared between
    /// processes — for several processes: every decision that must happen once (claiming a run,
    /// adopting an orphan, recording a result) is made inside <see cref="WithLock{T}"/>.
    /// </remarks>
    public interface IRunStore
    {
        /// <summary>
        /// Records the run atomically and returns what is recorded now. A result, once recorded,
        /// is final: saving over a final record changes nothing and returns the final record, so
        /// two processes that both saw a run end report the same outcome.
        /// </summary>
        RunRecord Save(RunRecord record);

        /// <summary>The run's record; null when there is none or it cannot be read (then see <see cref="Problems"/>).</summary>
        RunRecord? TryLoad(string runId);

        /// <summary>Every readable record, oldest first. Unreadable ones are skipped and reported in <see cref="Problems"/>.</summary>
        IReadOnlyList<RunRecord> List();

        /// <summary>
        /// Runs whose folder holds a <c>run.json</c> that cannot be read (damaged, unreadable, from a
        /// newer RayRunner), as they stand now: <see cref="List"/> skips them, so listings show them
        /// from here (status <c>damaged</c>) and they can still be removed with <see cref="Delete"/>.
        /// </summary>
        IReadOnlyList<StoreProblem> ListDamaged();

        /// <summary><see cref="List"/> and <see cref="ListDamaged"/> from one pass over the store (what a listing of every run needs).</summary>
        StoreListing ListAll();

        /// <summary>What is wrong with the run's record when its folder holds one that cannot be read; null otherwise.</summary>
        StoreProblem? DamageOf(string runId);

        /// <summary>Deletes the run's record and files (a damaged record too). False when there was nothing to delete.</summary>
        bool Delete(string runId);

        /// <summary>
        /// Runs <paramref name="action"/> holding the store's lock: no other thread or process
        /// holding it at the same time. Re-entrant on the same thread (Save inside is fine). Keep
        /// the action short and free of awaits.
        /// </summary>
        T WithLock<T>(Func<T> action);

        /// <summary>The file a run's output goes to (the local backend's log), or null when the store keeps no files.</summary>
        string? LogPathFor(string runId);

        /// <summary>Files this store could not read, most recent last.</summary>
        IReadOnlyList<StoreProblem> Problems { get; }
    }

    /// <summary>Keeps records for the life of the process only (tmgg's behaviour).</summary>
    public sealed class InMemoryRunStore : IRunStore
    {
        readonly Dictionary<string, RunRecord> _records = new Dictionary<string, RunRecord>(StringComparer.Ordinal);
        readonly List<string> _order = new List<string>();

        public RunRecord Save(RunRecord record)
        {
            if (record == null) throw new ArgumentNullException(nameof(record));
            lock (_records)
            {
                if (_records.TryGetValue(record.RunId, out var existing))
                {
                    if (existing.IsFinal) return existing;
                }
                else
                {
                    _order.Add(record.RunId);
                }
                _records[record.RunId] = record;
                return record;
            }
        }

        public RunRecord? TryLoad(string runId)
        {
            lock (_records) return runId != null && _records.TryGetValue(runId, out var r) ? r : null;
        }

        public IReadOnlyList<RunRecord> List()
        {
            lock (_records) return _order.Select(id => _records[id]).ToList();
        }

        public bool Delete(string runId)
        {
            lock (_records)
            {
                if (runId == null || !_records.Remove(runId)) return false;
                _order.Remove(runId);
                return true;
            }
        }

        public T WithLock<T>(Func<T> action)
        {
            lock (_records) return action();
        }

        /// <summary>Records in memory are never damaged.</summary>
        public IReadOnlyList<StoreProblem> ListDamaged() => new StoreProblem[0];

        public StoreListing ListAll() => new StoreListing(List(), ListDamaged());

        public StoreProblem? DamageOf(string runId) => null;

        public string? LogPathFor(string runId) => null;

        public IReadOnlyList<StoreProblem> Problems { get; } = new StoreProblem[0];
    }
}
