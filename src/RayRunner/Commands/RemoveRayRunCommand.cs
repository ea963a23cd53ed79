using System;
using System.Management.Automation;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Remove-RayRun: forgets a finished run and deletes its records (the runner's entry, the Ray
    /// job record, the run store's folder). Its result is gone afterwards, hence ShouldProcess.
    /// ConfirmImpact is Medium, like Remove-Job and Remove-Item: -Confirm asks, and bulk clean-up in
    /// scripts does not prompt by default. A run still going is an error unless -Force, which stops
    /// it first.
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "RayRun", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(void))]
    public sealed class RemoveRayRunCommand : RunTargetCmdlet
    {
        /// <summary>Stop a run that has not finished, then remove it.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }


        protected override void ProcessRecord()
        {
            var runs = Connection.Runs;
            foreach (var id in RunId)
            {
                var run = runs.Find(id);
                if (run == null)
                {
                    WriteRunNotFound(id);
                    continue;
                }
                if (!run.IsFinished && !Force)
                {
                    WriteError(ErrorMapper.Make(ErrorIds.RunNotFinished, ErrorCategory.InvalidOperation,
                        $"Run '{id}' is {run.Status}; only finished runs are removed. Stop it first (Stop-RayRun), or use Remove-RayRun -Force.", id));
                    continue;
                }
                if (!ShouldProcess($"run {id} ({run.Status}, {run.Entrypoint})", "Remove the run and its result")) continue;
                try
                {
                    if (!run.IsFinished)
                    {
                        WriteVerbose($"Run {id} is {run.Status}: stopping it first.");
                        Await(runs.CancelAsync(id, StopToken));
                    }
                    WriteVerbose($"Removing run {id} from the {Connection.Backend.Name} backend at {Connection.Backend.Address} and from the run store.");
                    Await(runs.RemoveAsync(id, StopToken));
                }
                catch (PipelineStoppedException)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    WriteMappedError(ex, ErrorIds.RemoveFailed, id);
                }
            }
        }
    }
}
