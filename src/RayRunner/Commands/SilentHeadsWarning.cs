using System;
using System.Collections.Generic;
using System.Linq;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// The one warning Get-RayRun and Get-RayRunStatus write, without a connection, when Ray runs
    /// they show were sent to a head that does not answer: their status is shown unknown, and the
    /// user must learn why and what to do rather than see a phase nobody can vouch for.
    /// </summary>
    internal static class SilentHeadsWarning
    {
        /// <summary>The warning for the shown runs that are unknown because their head did not answer; null when there are none.</summary>
        public static string? For(IRunView? view, IEnumerable<string> shownRunIds)
        {
            var all = (view as StoreOnlyView)?.RunsOnSilentHeads;
            if (all == null || all.Count == 0) return null;
            var runs = shownRunIds.Distinct(StringComparer.Ordinal)
                .Where(all.ContainsKey).Select(id => new KeyValuePair<string, string>(id, all[id])).ToList();
            if (runs.Count == 0) return null;
            var parts = runs.GroupBy(kv => kv.Value, StringComparer.OrdinalIgnoreCase).Select(g =>
            {
                var ids = g.Select(kv => kv.Key).OrderBy(id => id, StringComparer.Ordinal).ToList();
                var shown = string.Join(", ", ids.Take(5)) + (ids.Count > 5 ? ", ..." : "");
                return $"the Ray head at {g.Key} did not answer, so its {ids.Count} unfinished run(s) ({shown}) show status unknown";
            });
            var text = string.Join("; ", parts);
            return char.ToUpperInvariant(text[0]) + text.Substring(1) +
                   " (their last recorded phase is in ErrorMessage). If the head is running, connect to it (Connect-RayCluster -Backend Ray -Address <address>) to follow them; if it was stopped, those runs are lost and must be started again.";
        }
    }
}
