using System;

namespace RayRunner.Core
{
    /// <summary>
    /// Handle for a spawned run (tmgg's RaySpawnedTask): the run id to track it by, and the
    /// backend reference (tmgg's object_ref). A run that is still <c>queued</c> inside RayRunner
    /// has a reference too: the backend fills in its locator when the run is dispatched.
    /// </summary>
    public sealed class RaySpawnedTask
    {
        public RaySpawnedTask(string runId, TaskRef objectRef)
        {
            RunId = runId ?? throw new ArgumentNullException(nameof(runId));
            ObjectRef = objectRef ?? throw new ArgumentNullException(nameof(objectRef));
        }

        public string RunId { get; }
        public TaskRef ObjectRef { get; }
        public string? SweepId { get; init; }
        public DateTimeOffset SubmittedAt { get; init; } = DateTimeOffset.UtcNow;
        /// <summary>What a resumed sweep did with this config (see <see cref="ResumeStep"/>); null when the spawn was no resume.</summary>
        public ResumeStep? Resumed { get; init; }
    }

    /// <summary>What resuming a sweep did with one config: the runner's plan, so callers need not rebuild it.</summary>
    public enum ResumeStep
    {
        /// <summary>No usable run of the config: a new run was started.</summary>
        Started,
        /// <summary>A run of the config completed earlier: its result is reused, nothing runs again.</summary>
        Reused,
        /// <summary>A run of the config is still queued or running: it is followed, not started twice.</summary>
        Followed,
    }
}
