using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using RayRunner.Core;
using RayRunner.Core.Sweeps;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Measure-RaySweep: tmgg's stage summary of a sweep's results (total, completed, failed, success
    /// rate, mean and total duration, start and end) and its best run by one metric, lowest unless
    /// -Maximize. Completed runs only compete; missing, NaN and infinite values are ignored.
    /// -SweepId takes wildcards and writes one summary per matching sweep.
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Measure, "RaySweep", DefaultParameterSetName = "Results")]
    [OutputType(typeof(RaySweepSummary))]
    public sealed class MeasureRaySweepCommand : SweepResultsCmdlet
    {
        /// <summary>The metric to rank by; default best_val_loss, val_loss or loss, whichever the runs report.</summary>
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        public string? Metric { get; set; }

        /// <summary>Higher is better (accuracy); the default is lower is better (loss).</summary>
        [Parameter]
        public SwitchParameter Maximize { get; set; }

        protected override void EndProcessing()
        {
            if (!GatherFromStore()) return;
            // One summary per sweep -SweepId matched (piped results are one).
            foreach (var results in ResultsBySweep) Summarize(results);
        }

        void Summarize(IReadOnlyList<ExperimentResult> results)
        {
            var metric = Metric ?? SweepSummary.DefaultMetric(results) ?? "best_val_loss";
            if (results.Count > 0 && !results.Any(r => r.Metrics.ContainsKey(metric)))
            {
                var known = results.SelectMany(r => r.Metrics.Keys).Distinct().ToList();
                WriteError(ErrorMapper.Make(ErrorIds.MetricNotFound, ErrorCategory.ObjectNotFound,
                    $"No run reported the metric '{metric}', so there is no best run. " +
                    (known.Count > 0 ? $"The runs report: {string.Join(", ", known)}. Name one with -Metric."
                        : !results.Any(r => RunStatus.IsTerminal(r.Status)) ? $"None of its {results.Count} run(s) has finished yet: wait for them (Get-RayRun -SweepId <id> | Wait-RayRun) and measure again."
                        : "The runs reported no metrics at all (did they print a RAYRUNNER_RESULT line?)."),
                    metric));
            }
            var summary = SweepSummary.Of(results, metric, Maximize.IsPresent);
            var best = summary.Best == null ? null : OriginalOf(summary.Best) ?? RayExperimentResult.From(summary.Best).ToPSObject();
            WriteObject(RaySweepSummary.From(summary, best).ToPSObject());
        }
    }
}
