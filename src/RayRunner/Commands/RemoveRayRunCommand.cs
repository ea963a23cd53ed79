using System;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Remove-RayRun: forgets a finished run and deletes its records (the runner's entry, the Ray
    /// job record, the run store's folder). Its result is gone afterwards, hence ShouldProcess.
    /// ConfirmImpact is Medium, like Remove-Job and Remove-Item: -Confirm asks, and bulk clean-up in
    /// scripts does not prompt by default. A run still going is an error unless -Force, which stops
    /// it first. Safe to repeat: a run that is already gone is not an error (the wanted end state
    /// holds), only a verbose note, so a clean-up runbook can run twice.
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "RayRun", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(void))]
    public sealed class RemoveRayRunCommand : RunTargetCmdlet
    {
        /// <summary>Stop a run that has not finished, then remove it; remove a run whose record is damaged.</summary>
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
                    WriteVerbose($"No run with id '{id}' is known in this session or its run store: nothing to remove (it may have been removed already).");
                    continue;
                }
                var damaged = run.Status == RunStatus.Damaged;
                if (!run.IsFinished && !Force)
                {
                    WriteError(ErrorMapper.Make(ErrorIds.RunNotFinished, ErrorCategory.InvalidOperation,
                        damaged
                            ? $"Run '{id}' has a damaged record, so RayRunner cannot tell whether it is still going. Remove-RayRun -Force deletes its folder (a process or job it started is not stopped)."
                            : $"Run '{id}' is {run.Status}; only finished runs are removed. Stop it first (Stop-RayRun), or use Remove-RayRun -Force.", id));
                    continue;
                }
                if (!ShouldProcess($"run {id} ({run.Status}{(damaged ? "" : ", " + run.Entrypoint)})", "Remove the run and its result")) continue;
                try
                {
                    if (!run.IsFinished && !damaged)
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
