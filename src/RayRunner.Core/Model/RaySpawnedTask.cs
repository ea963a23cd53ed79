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
    }
}
