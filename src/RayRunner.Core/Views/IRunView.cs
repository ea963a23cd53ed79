using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// The one read view of runs, served alike by a live runner (<see cref="ExperimentRunner"/>: the runs it
    /// tracks, then those its store records) and by a store alone (<see cref="RunStoreReader"/>: the
    /// records, no backend). Callers that only read — listings, tab completion, a runbook that has not
    /// connected — take an <see cref="IRunView"/> and need not know which one they have.
    /// </summary>
    public interface IRunView
    {
        /// <summary>Every run, oldest first, without calling a backend.</summary>
        IReadOnlyList<RunSnapshot> ListRuns();

        /// <summary>One run; null when nobody knows it.</summary>
        RunSnapshot? GetRun(string runId);

        /// <summary>The final result if the run has ended, else null. Does not block.</summary>
        ExperimentResult? TryGetResult(string runId);

        /// <summary>
        /// tmgg's get_status: a runner asks the backend about a live run (and records an end it
        /// sees); a store alone answers with the recorded status. <c>unknown</c> for a run nobody knows.
        /// </summary>
        Task<string> GetStatusAsync(string runId, CancellationToken cancellationToken);

        /// <summary>
        /// The run with its status as fresh as this view can tell: a runner asks the backend about a
        /// run it tracks that has not finished; a store alone gives the record. Null when nobody knows it.
        /// </summary>
        Task<RunSnapshot?> RefreshAsync(string runId, CancellationToken cancellationToken);

        /// <summary>Whether this view follows the run live (a runner tracking it) rather than reading its record.</summary>
        bool IsTracked(string runId);

        /// <summary>Files in the store that could not be read (reported, skipped, never thrown).</summary>
        IReadOnlyList<StoreProblem> StoreProblems { get; }
    }
}
