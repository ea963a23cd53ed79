using System;
using System.Collections.Generic;
using System.Linq;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// The one warning Get-RayRun and Get-RayRunStatus write when they show queued runs whose session
    /// has ended: nothing starts those runs until a process adopts them, and a listing that only says
    /// "queued" would let the user wait for them forever.
    /// </summary>
    internal static class OrphanedRunsWarning
    {
        /// <summary>The warning for these orphaned runs (run id, sweep id); null when there are none.</summary>
        public static string? For(IReadOnlyCollection<(string RunId, string? SweepId)> orphans)
        {
            if (orphans.Count == 0) return null;
            var sweeps = orphans.Select(o => o.SweepId).Where(s => !string.IsNullOrEmpty(s)).Distinct(StringComparer.Ordinal).ToList();
            // Resume-RaySweep with no sweep id adopts every orphan, the ones outside a sweep included.
            var command = sweeps.Count > 0 && orphans.All(o => !string.IsNullOrEmpty(o.SweepId))
                ? "Resume-RaySweep -SweepId " + string.Join(", ", sweeps)
                : "Resume-RaySweep";
            return $"{orphans.Count} queued run(s) will not start by themselves: the session that queued them has ended (IsOrphan). " +
                   $"Run '{command}' to dispatch them from this session, or Wait-RayRun on them.";
        }
    }
}
