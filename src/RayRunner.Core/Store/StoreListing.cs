using System;
using System.Collections.Generic;
using System.Linq;

namespace RayRunner.Core
{
    /// <summary>
    /// What one look at the store finds: a summary of every readable run, oldest first, and the runs
    /// whose record cannot be read. Listings take both from one pass (<see cref="IRunStore.ListAll"/>).
    /// The summaries are what a listing shows; a run's whole record (config, output, past attempts)
    /// is read only when asked for (<see cref="Load"/>, <see cref="Records"/>).
    /// </summary>
    public sealed class StoreListing
    {
        readonly Func<RunSummary, RunRecord?> _load;
        IReadOnlyList<RunRecord>? _records;

        /// <summary>A listing of records already in memory (a store that keeps them there).</summary>
        public StoreListing(IReadOnlyList<RunRecord> records, IReadOnlyList<StoreProblem> damaged)
        {
            if (records == null) throw new ArgumentNullException(nameof(records));
            Damaged = damaged ?? throw new ArgumentNullException(nameof(damaged));
            var byId = new Dictionary<string, RunRecord>(StringComparer.Ordinal);
            foreach (var r in records) byId[r.RunId] = r;
            Summaries = records.Select(r => RunSummary.Of(r, "")).ToList();
            _records = records;
            _load = s => byId.TryGetValue(s.RunId, out var r) ? r : null;
        }

        /// <param name="summaries">Oldest first.</param>
        /// <param name="load">Reads one run's whole record; null when it is gone or cannot be read.</param>
        public StoreListing(IReadOnlyList<RunSummary> summaries, Func<RunSummary, RunRecord?> load, IReadOnlyList<StoreProblem> damaged)
        {
            Summaries = summaries ?? throw new ArgumentNullException(nameof(summaries));
            _load = load ?? throw new ArgumentNullException(nameof(load));
            Damaged = damaged ?? throw new ArgumentNullException(nameof(damaged));
        }

        /// <summary>Every readable run, oldest first, as the listing index has it.</summary>
        public IReadOnlyList<RunSummary> Summaries { get; }

        /// <summary>
        /// Every readable record, oldest first (as <see cref="IRunStore.List"/>); read on first use.
        /// A record that cannot be read by then (removed, damaged meanwhile) is left out.
        /// </summary>
        public IReadOnlyList<RunRecord> Records =>
            _records ??= Summaries.Select(_load).Where(r => r != null).Select(r => r!).ToList();

        /// <summary>
        /// The whole records of the runs whose summary passes <paramref name="keep"/>, oldest first:
        /// what a caller that needs records of some runs (one sweep, the orphans) reads, instead of all.
        /// </summary>
        public IReadOnlyList<RunRecord> RecordsWhere(Func<RunSummary, bool> keep) =>
            Summaries.Where(keep ?? throw new ArgumentNullException(nameof(keep))).Select(_load).Where(r => r != null).Select(r => r!).ToList();

        /// <summary>One run's whole record, read now; null when it is gone or cannot be read.</summary>
        public RunRecord? Load(RunSummary summary) => _load(summary ?? throw new ArgumentNullException(nameof(summary)));

        /// <summary>Every run whose record cannot be read (as <see cref="IRunStore.ListDamaged"/>).</summary>
        public IReadOnlyList<StoreProblem> Damaged { get; }
    }
}
