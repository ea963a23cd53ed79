using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Wait-RayRun: like Wait-Job. Waits until all the given runs (or, with -Any, one of them) are
    /// finished, or -Timeout seconds pass (-1, the default, waits without limit), then writes the
    /// finished runs in input order. A timeout is not an error: the runs still going are simply not
    /// written (a verbose message names them). Driven by the runs' completion, never a sleep loop.
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
            var connection = Connection;
            var known = new List<string>();
            foreach (var id in CollectedRunIds)
            {
                if (connection.Runs.Find(id) == null) WriteRunNotFound(id);
                else known.Add(id);
            }
            if (known.Count == 0) return;

            var timeout = Timeout < 0 ? (TimeSpan?)null : TimeSpan.FromSeconds(Timeout);
            WriteVerbose($"Waiting for {(Any ? "any of " : "")}{known.Count} run(s)" + (timeout.HasValue ? $", at most {Timeout} s." : ", without a time limit."));
            var finished = WaitForRuns(connection.Runs, known, Any, timeout, ProgressId, "Waiting for RayRunner runs");

            var open = known.Except(finished).ToList();
            if (open.Count > 0 && !Any)
                WriteVerbose($"The timeout passed; still going: {string.Join(", ", open)}.");
            foreach (var id in finished)
            {
                var run = connection.Runs.Find(id);
                if (run != null) WriteObject(run.ToPSObject());
            }
        }
    }
}
