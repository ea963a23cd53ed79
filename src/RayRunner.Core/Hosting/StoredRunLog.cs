using System.Collections.Generic;
using RayRunner.Core.Local;

namespace RayRunner.Core
{
    /// <summary>
    /// Where a stored run's log can be read without a backend: a file any process can read, named
    /// by the run's locator. A local run writes it as it goes; a Ray run's whole log is written there
    /// once its job has ended (before that it is on the cluster only). Lives in Hosting because it
    /// knows the backends.
    /// </summary>
    public static class StoredRunLog
    {
        /// <summary>The log file of a local or Ray run (it may not exist yet); null for a run never started.</summary>
        public static string? FileOf(RunRecord record) => FileOf(record?.Submission);

        /// <summary>The log file of one submission (an attempt) to the local or Ray backend; null for other backends or none.</summary>
        public static string? FileOf(SubmissionRecord? submission)
        {
            if (submission == null) return null;
            var key = submission.Backend == LocalProcessBackend.BackendName ? LocalLocator.LogKey
                : submission.Backend == Ray.RayJobsBackend.BackendName ? Ray.RayJobsBackend.LocatorLog
                : null;
            return key != null && submission.Locator is IReadOnlyDictionary<string, string> locator && locator.TryGetValue(key, out var log) && !string.IsNullOrEmpty(log)
                ? log : null;
        }
    }
}
