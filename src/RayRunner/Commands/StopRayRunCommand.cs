using System;
using System.Collections.Generic;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Stop-RayRun: tmgg's cancel. Stops each run (a queued run simply never starts); the run ends
    /// as "cancelled". Safe to repeat: stopping a run that has already finished changes nothing and
    /// is not an error. The stops are sent together, then reported in input order.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Stop, "RayRun", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(RayRun))]
    public sealed class StopRayRunCommand : RunTargetCmdlet
    {
        /// <summary>Write each run (as it stands after the stop) to the pipeline.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        readonly List<string> _approved = new List<string>();
        readonly HashSet<string> _seen = new HashSet<string>(StringComparer.Ordinal);

        // ShouldProcess must be asked on the pipeline thread, item by item; the stops go out together at the end.
        protected override void ProcessRecord()
        {
            foreach (var id in RunId)
            {
                if (!_seen.Add(id)) continue;
                var run = Connection.Runs.Find(id);
                if (run == null)
                {
                    WriteRunNotFound(id);
                    continue;
                }
                if (ShouldProcess($"run {id} ({run.Status}, {run.Entrypoint})", "Stop")) _approved.Add(id);
            }
        }

        protected override void EndProcessing()
        {
            if (_approved.Count == 0) return;
            var runs = Connection.Runs;
            var outcomes = RunAll(_approved, async (id, ct) =>
            {
                if (!runs.IsTracked(id)) return true; // finished and collected already: nothing to stop
                if (await runs.CancelAsync(id, ct).ConfigureAwait(false)) return true;
                // tmgg's cancel says false both for "not tracked" and "the backend refused"; tell them apart.
                return !runs.IsTracked(id);
            });
            foreach (var (id, stopped, error) in outcomes)
            {
                if (error != null)
                {
                    WriteMappedError(error, ErrorIds.StopFailed, id);
                    continue;
                }
                if (!stopped)
                {
                    WriteError(ErrorMapper.Make(ErrorIds.StopFailed, ErrorCategory.OperationStopped,
                        $"The {Connection.Backend.Name} backend did not stop run '{id}'; it is still tracked. Try again, or check the backend at {Connection.Backend.Address}.", id));
                    continue;
                }
                WriteVerbose($"Run {id}: stop sent to the {Connection.Backend.Name} backend at {Connection.Backend.Address}.");
                if (PassThru)
                {
                    var run = runs.Find(id);
                    if (run != null) WriteObject(run.ToPSObject());
                }
            }
        }
    }
}
