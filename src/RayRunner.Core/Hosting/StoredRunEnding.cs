using System.Collections.Generic;
using RayRunner.Core.Local;

namespace RayRunner.Core
{
    /// <summary>
    /// How a reader with no backend learns that a stored run has ended since its record was last
    /// written: a local run leaves an exit file beside its log, readable by any process. A Ray run's
    /// end is known only to its cluster, so its record stays the last known state until a session
    /// connects. Lives in Hosting because it knows a backend; the read view only gets the function.
    /// </summary>
    public static class StoredRunEnding
    {
        /// <summary>The run's final output when its backend's files show it has ended; null when they do not, or cannot tell.</summary>
        public static TaskOutput? Look(RunRecord record) =>
            LocalLocatorOf(record) is { } locator ? AttachedRun.LookOnce(record.RunId, locator) : null;

        /// <summary>True when a local run's process has claimed the run (its claim file exists): it has started, whatever its record says.</summary>
        public static bool Started(RunRecord record) =>
            LocalLocatorOf(record) is { } locator && LocalLocator.From(locator) is { } found && System.IO.File.Exists(found.Files.Started);

        /// <summary>The locator of an unfinished run handed to the local backend; null for any other run.</summary>
        static IReadOnlyDictionary<string, string>? LocalLocatorOf(RunRecord record) =>
            record != null && !record.IsFinal && record.Submission is { Backend: LocalProcessBackend.BackendName, Locator: IReadOnlyDictionary<string, string> locator }
                ? locator : null;
    }
}
