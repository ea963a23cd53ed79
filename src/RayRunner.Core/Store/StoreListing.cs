using System;
using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>
    /// What one look at the store finds: the readable records, oldest first, and the runs whose
    /// record cannot be read. Listings take both from one pass (<see cref="IRunStore.ListAll"/>):
    /// with 10,000 runs each pass enumerates and stats 10,000 folders, so two passes cost twice.
    /// </summary>
    public sealed class StoreListing
    {
        public StoreListing(IReadOnlyList<RunRecord> records, IReadOnlyList<StoreProblem> damaged)
        {
            Records = records ?? throw new ArgumentNullException(nameof(records));
            Damaged = damaged ?? throw new ArgumentNullException(nameof(damaged));
        }

        /// <summary>Every readable record, oldest first (as <see cref="IRunStore.List"/>).</summary>
        public IReadOnlyList<RunRecord> Records { get; }

        /// <summary>Every run whose record cannot be read (as <see cref="IRunStore.ListDamaged"/>).</summary>
        public IReadOnlyList<StoreProblem> Damaged { get; }
    }
}
