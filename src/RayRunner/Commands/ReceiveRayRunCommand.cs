using System;
using System.Management.Automation;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Receive-RayRun: a finished run's ExperimentResult. Named after Receive-Job so that
    /// <c>Start-RayExperiment | Wait-RayRun | Receive-RayRun</c> reads like the job pipeline users
    /// know; unlike Receive-Job it never consumes anything (a result is a record, not a stream), so
    /// it can be repeated and needs no -Keep. A run still going is a RunNotFinished error unless
    /// -Wait is given, which waits for it first (as Receive-Job -Wait does).
    /// </summary>
    [Cmdlet(VerbsCommunications.Receive, "RayRun")]
    [OutputType(typeof(RayExperimentResult))]
    public sealed class ReceiveRayRunCommand : RunTargetCmdlet
    {
        [Parameter]
        public SwitchParameter Wait { get; set; }


        // Per record, so results stream; waiting on runs one after another costs nothing, as they run side by side.
        protected override void ProcessRecord()
        {
            var runs = Connection.Runs;
            foreach (var id in RunId)
            {
                if (runs.Find(id) == null)
                {
                    WriteRunNotFound(id);
                    continue;
                }
                try
                {
                    var result = Wait ? Await(runs.GetResultAsync(id, StopToken)) : runs.TryGetResult(id);
                    if (result == null)
                    {
                        WriteError(ErrorMapper.Make(ErrorIds.RunNotFinished, ErrorCategory.InvalidOperation,
                            $"Run '{id}' has not finished, so it has no result yet. Wait for it first (Wait-RayRun), or use Receive-RayRun -Wait.", id));
                        continue;
                    }
                    WriteObject(RayExperimentResult.From(result).ToPSObject());
                }
                catch (PipelineStoppedException)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    WriteMappedError(ex, ErrorIds.ResultFailed, id);
                }
            }
        }
    }
}
