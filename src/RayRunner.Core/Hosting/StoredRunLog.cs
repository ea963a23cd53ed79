using System.Collections.Generic;
using RayRunner.Core.Local;

namespace RayRunner.Core
{
    /// <summary>
    /// Where a stored run's log can be read without a backend: a local run's log is a file any
    /// process can read (its locator names it). A Ray job's log is kept by its cluster, so reading
    /// it needs a connection. Lives in Hosting because it knows a backend.
    /// </summary>
    public static class StoredRunLog
    {
        /// <summary>The log file of a run made for the local backend; null for other backends or a run never started.</summary>
        public static string? FileOf(RunRecord record) => FileOf(record?.Submission);

        /// <summary>The log file of one submission (an attempt) to the local backend; null for other backends or none.</summary>
        public static string? FileOf(SubmissionRecord? submission)
        {
            if (submission == null || submission.Backend != LocalProcessBackend.BackendName) return null;
            return submission.Locator is IReadOnlyDictionary<string, string> locator && locator.TryGetValue(LocalLocator.LogKey, out var log) && !string.IsNullOrEmpty(log)
                ? log : null;
        }
    }
}
