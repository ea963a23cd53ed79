using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// Which runs of a sweep to run again, and how, from the store alone: every recorded run holds
    /// its config, entrypoint, working directory, timeout, tags and environment, so re-running the
    /// failed runs of a sweep needs nothing the caller must still have (no config list).
    /// </summary>
    public static class SweepRerun
    {
        /// <summary>The statuses a rerun may take: runs that ended without completing.</summary>
        public static IReadOnlyList<string> Statuses { get; } = new[] { RunStatus.Failed, RunStatus.Timeout, RunStatus.Cancelled };

        /// <summary>
        /// The finished runs of <paramref name="sweepId"/> with one of <paramref name="statuses"/>,
        /// oldest first, leaving out a config that a later run of the sweep already completed or is
        /// still running (a rerun of a rerun would otherwise start it twice).
        /// </summary>
        public static IReadOnlyList<RunRecord> Select(IRunStore store, string sweepId, IReadOnlyCollection<string> statuses)
        {
            var sweep = store.ListAll().RecordsWhere(s => s.SweepId == sweepId);
            var settled = new HashSet<string>(
                sweep.Where(r => !r.IsFinal || RunStatus.Normalize(r.Result!.Status) == RunStatus.Completed).Select(r => r.Spec.ConfigHash),
                StringComparer.Ordinal);
            var picked = new List<RunRecord>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var record in sweep.OrderByDescending(r => r.Spec.CreatedAt))
            {
                if (!record.IsFinal || settled.Contains(record.Spec.ConfigHash) || !seen.Add(record.Spec.ConfigHash)) continue;
                // Only the latest attempt of a config decides whether it needs another.
                if (statuses.Contains(RunStatus.Normalize(record.Result!.Status) ?? record.Status)) picked.Add(record);
            }
            picked.Reverse();
            return picked;
        }

        /// <summary>The request that starts the run again as it was started: same sweep, entrypoint, folder, timeout, tags and environment.</summary>
        public static RunRequest RequestFor(RunRecord record) => new RunRequest
        {
            Entrypoint = record.Spec.Entrypoint,
            WorkingDirectory = record.Spec.WorkingDirectory,
            SweepId = record.SweepId,
            TimeoutSeconds = record.Spec.Input?.TimeoutSeconds ?? 3600,
            Tags = record.Spec.Input?.AdditionalTags ?? Array.Empty<string>(),
            UseShell = record.Spec.UseShell,
            Environment = record.Spec.Environment,
            // What the run asked for (per call or from its config's _resources, which the recorded config no longer holds).
            Resources = RunResources.FromOptions(record.Spec.Options),
            Retry = record.Spec.Retry,
        };

        /// <summary>The config to send again (as recorded for the experiment, without the old run id).</summary>
        public static Dictionary<string, object?> ConfigOf(RunRecord record) =>
            (record.Spec.Input?.Config ?? record.Spec.Config)
                .Where(kv => kv.Key != "run_id").ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

        /// <summary>
        /// Starts each selected run again on <paramref name="runner"/> as a new run of the same sweep
        /// (the old run and its result stay: nothing is lost); returns the new runs, oldest config first.
        /// </summary>
        public static async Task<IReadOnlyList<RaySpawnedTask>> RunAsync(ExperimentRunner runner, string sweepId, IReadOnlyCollection<string> statuses, CancellationToken cancellationToken)
        {
            var spawned = new List<RaySpawnedTask>();
            foreach (var record in Select(runner.Store, sweepId, statuses))
                spawned.Add(await runner.SpawnExperimentAsync(ConfigOf(record), RequestFor(record), cancellationToken).ConfigureAwait(false));
            return spawned;
        }
    }
}
