using System.Collections.Generic;
using System.Management.Automation;
using System.Threading.Tasks;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Get-RayRunStatus: tmgg's get_status for each run id, asked of the backend all at once and
    /// written in input order. An id nobody tracks is status "unknown", not an error (as in tmgg).
    /// Without a connection the run store answers with each run's recorded status. A queued run
    /// whose session has ended is counted in one warning that says how to dispatch it.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "RayRunStatus")]
    [OutputType(typeof(RayRunStatus))]
    public sealed class GetRayRunStatusCommand : RunTargetCmdlet
    {
        protected override void ProcessRecord() => CollectRunIds();

        protected override void EndProcessing()
        {
            // The live runner asks the backend; without a connection the store gives the recorded
            // status (a run still going shows the last phase recorded); unknown only for runs it lacks.
            var view = ReadView();
            var orphans = new List<(string, string?)>();
            foreach (var (id, status, error) in RunAll(CollectedRunIds, (id, ct) => view?.GetStatusAsync(id, ct) ?? Task.FromResult(RunStatus.Unknown)))
            {
                if (error != null)
                {
                    WriteMappedError(error, ErrorIds.StatusFailed, id);
                    continue;
                }
                // "queued" alone would hide that nothing will ever start the run.
                if (status == RunStatus.Queued && view?.GetRun(id) is { IsOrphan: true } run) orphans.Add((id, run.SweepId));
                WriteObject(new RayRunStatus(id, status!).ToPSObject());
            }
            if (OrphanedRunsWarning.For(orphans) is { } orphaned) WriteWarning(orphaned);
            if (SilentHeadsWarning.For(view, CollectedRunIds) is { } silent) WriteWarning(silent);
        }
    }
}
