using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Get-RayRunStatus: tmgg's get_status for each run id, asked of the backend all at once and
    /// written in input order. An id nobody tracks is status "unknown", not an error (as in tmgg).
    /// Without a connection the run store answers with each run's recorded status.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "RayRunStatus")]
    [OutputType(typeof(RayRunStatus))]
    public sealed class GetRayRunStatusCommand : RunTargetCmdlet
    {
        protected override void ProcessRecord() => CollectRunIds();

        protected override void EndProcessing()
        {
            var connection = ModuleSession.Current;
            if (connection == null)
            {
                // Not connected: the recorded status, read from the run store without connecting
                // (a run still going shows the last phase recorded); unknown only for runs it lacks.
                var reader = StoreReader();
                foreach (var id in CollectedRunIds)
                    WriteObject(new RayRunStatus(id, reader?.GetStatus(id) ?? RunStatus.Unknown).ToPSObject());
                return;
            }
            foreach (var (id, status, error) in RunAll(CollectedRunIds, (id, ct) => connection.Runs.GetStatusAsync(id, ct)))
            {
                if (error != null) WriteMappedError(error, ErrorIds.StatusFailed, id);
                else WriteObject(new RayRunStatus(id, status!).ToPSObject());
            }
        }
    }
}
