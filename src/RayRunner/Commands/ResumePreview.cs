using System;
using System.Collections.Generic;
using System.Linq;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// What -Resume will do with each config of a sweep, read from the run store before anything
    /// connects, so -WhatIf and -Confirm name the configs that start and tell apart those that do
    /// not: a config whose run completed is reused and one whose run is still going is followed, as
    /// the runner's resume decides (matched by config hash, each run used once, completed runs
    /// first). With -RequireMetric a completed run without the metrics does not count.
    /// </summary>
    internal sealed class ResumePreview
    {
        readonly List<RunSnapshot> _runs;
        readonly IReadOnlyList<string> _requiredMetrics;
        readonly HashSet<string> _used = new HashSet<string>(StringComparer.Ordinal);

        public ResumePreview(IEnumerable<RunSnapshot> runs, string sweepId, IReadOnlyList<string> requiredMetrics)
        {
            _runs = runs.Where(r => r.SweepId == sweepId).OrderBy(r => r.SubmittedAt).ToList();
            _requiredMetrics = requiredMetrics;
        }

        /// <summary>The ShouldProcess action for a config resume does not start again; null for one it starts.</summary>
        public string? ActionFor(IReadOnlyDictionary<string, object?> config)
        {
            var hash = ConfigHash.Compute(config);
            var candidates = _runs.Where(r => r.ConfigHash == hash && !_used.Contains(r.RunId)).ToList();
            var completed = candidates.FirstOrDefault(r => r.Status == RunStatus.Completed && HasRequiredMetrics(r));
            if (completed != null)
            {
                _used.Add(completed.RunId);
                return $"Reuse run {completed.RunId}, completed earlier (not run again)";
            }
            var going = candidates.FirstOrDefault(r => r.Status == RunStatus.Queued || r.Status == RunStatus.Pending || r.Status == RunStatus.Running);
            if (going != null)
            {
                _used.Add(going.RunId);
                return $"Follow run {going.RunId}, still {going.Status} (not started again)";
            }
            return null;
        }

        bool HasRequiredMetrics(RunSnapshot run) =>
            _requiredMetrics.All(m => run.Output != null && run.Output.Metrics.TryGetValue(m, out var v) && !double.IsNaN(v) && !double.IsInfinity(v));
    }
}
