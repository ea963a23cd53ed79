using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Wait-RayRun: like Wait-Job. Waits until all the given runs (or, with -Any, one of them) are
    /// finished, or -Timeout seconds pass (-1, the default, waits without limit), then writes the
    /// finished runs in input order. A timeout is not an error: as with Wait-Job the runs still
    /// going are not written, and a warning counts and names them. Driven by the runs' completion,
    /// never a sleep loop.
    /// Runs of earlier sessions and other processes are found in the run store; if one has not
    /// finished and the session has no connection, it connects to that run's backend, and a queued
    /// run whose process died is dispatched here.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Wait, "RayRun")]
    [OutputType(typeof(RayRun))]
    public sealed class WaitRayRunCommand : RunTargetCmdlet
    {
        const int ProgressId = 0x5257;

        [Parameter]
        public SwitchParameter Any { get; set; }

        /// <summary>Seconds to wait at most; -1 waits forever.</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        [ValidateRange(-1, int.MaxValue)]
        public int Timeout { get; set; } = -1;

        protected override void ProcessRecord() => CollectRunIds();

        protected override void EndProcessing()
        {
            if (CollectedRunIds.Count == 0) return;
            // One read view, connected or not: runs that have all finished are written from it;
            // only runs still going need a connection that follows them.
            var view = ReadView();
            var runs = new List<RayRun>();
            foreach (var id in CollectedRunIds)
            {
                var snapshot = view?.GetRun(id);
                if (snapshot == null) WriteRunNotFound(id);
                else if (WriteIfDamaged(snapshot)) continue;
                else runs.Add(RayRun.FromSnapshot(snapshot, tracked: view!.IsTracked(id), snapshot.Tags));
            }
            if (runs.Count == 0) return;
            var unfinished = runs.FirstOrDefault(r => !r.IsFinished);
            if (unfinished == null)
            {
                // Nothing to wait for: every finished run is written, -Any or not.
                foreach (var run in runs) WriteObject(run.ToPSObject());
                return;
            }
            var connection = ConnectionToFollow(view!.GetRun(unfinished.RunId)!);
            var known = new List<string>();
            foreach (var id in runs.Select(r => r.RunId))
            {
                if (connection.Runs.Find(id) == null) WriteRunNotFound(id);
                else if (connection.Runs.WhyCannotFollow(id) is { } why)
                    WriteError(ErrorMapper.Make(ErrorIds.RunOnOtherBackend, ErrorCategory.ResourceUnavailable, why, id));
                else known.Add(id);
            }
            if (known.Count == 0) return;

            var timeout = Timeout < 0 ? (TimeSpan?)null : TimeSpan.FromSeconds(Timeout);
            WriteVerbose($"Waiting for {(Any ? "any of " : "")}{known.Count} run(s)" + (timeout.HasValue ? $", at most {Timeout} s." : ", without a time limit."));
            var finished = WaitForRuns(connection.Runs, known, Any, timeout, ProgressId, "Waiting for RayRunner runs");

            // As Wait-Job: the finished runs are written, the others are not. Unlike Wait-Job, the
            // user is told, since an empty or short output alone reads like "all done".
            var open = known.Except(finished).ToList();
            if (timeout.HasValue && open.Count > 0 && (!Any || finished.Count == 0))
                WriteWarning(TimeoutWarning(open, timeout.Value));
            foreach (var id in finished)
            {
                var run = connection.Runs.Find(id);
                if (run != null) WriteObject(run.ToPSObject());
            }
        }

        const int IdsNamedInWarning = 10;

        /// <summary>"2 run(s) not finished after 00:00:05: a1b2, c3d4. Wait again (Wait-RayRun) or stop them (Stop-RayRun)."</summary>
        internal static string TimeoutWarning(IReadOnlyList<string> open, TimeSpan waited)
        {
            var named = string.Join(", ", open.Take(IdsNamedInWarning));
            var more = open.Count > IdsNamedInWarning ? $" and {open.Count - IdsNamedInWarning} more" : "";
            return $"{open.Count} run(s) not finished after {waited:c}: {named}{more}. " +
                   "They go on running: wait again (Wait-RayRun) or stop them (Stop-RayRun).";
        }
    }
}
