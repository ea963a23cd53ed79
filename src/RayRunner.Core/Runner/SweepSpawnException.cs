using System;
using System.Collections.Generic;
using System.Linq;

namespace RayRunner.Core
{
    /// <summary>A sweep started some runs, then the backend failed: the started runs are still tracked.</summary>
    public sealed class SweepSpawnException : Exception
    {
        public SweepSpawnException(IReadOnlyList<RaySpawnedTask> spawned, int total, Exception inner)
            : base($"Started {spawned.Count} of {total} runs, then the backend failed: {inner.Message} The started runs keep running and are tracked: {string.Join(", ", spawned.Select(s => s.RunId))}.", inner)
        {
            Spawned = spawned;
        }

        public IReadOnlyList<RaySpawnedTask> Spawned { get; }
    }
}
