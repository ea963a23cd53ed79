using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// The input side of the sweep result cmdlets (Measure-RaySweep, ConvertTo-RayResultTable,
    /// Export-RaySweepReport): results from the pipeline (Invoke-RayExperiment, Receive-RayRun), or
    /// every run of a sweep as recorded in the run store (-SweepId), without connecting.
    /// </summary>
    public abstract class SweepResultsCmdlet : RayCmdlet
    {
        /// <summary>Results as Invoke-RayExperiment and Receive-RayRun write them.</summary>
        [Parameter(ValueFromPipeline = true, ParameterSetName = "Results")]
        [AllowNull]
        public PSObject? InputObject { get; set; }

        /// <summary>Read every run of this sweep from the run store instead of the pipeline.</summary>
        [Parameter(Mandatory = true, ParameterSetName = "Store")]
        [ValidateRunId("sweep id")]
        [ArgumentCompleter(typeof(SweepIdCompleter))]
        public string? SweepId { get; set; }

        readonly List<(ExperimentResult Result, PSObject? Original)> _results = new List<(ExperimentResult, PSObject?)>();

        /// <summary>The results gathered, in input order (store: oldest first).</summary>
        internal IReadOnlyList<ExperimentResult> Results => _results.Select(r => r.Result).ToList();

        /// <summary>The pipeline object a result came in as (null for results read from the store).</summary>
        internal PSObject? OriginalOf(ExperimentResult result) => _results.FirstOrDefault(r => ReferenceEquals(r.Result, result)).Original;

        protected override void ProcessRecord()
        {
            if (ParameterSetName != "Results" || InputObject == null) return;
            if (InputObject.BaseObject is RayExperimentResult { Source: { } source })
            {
                _results.Add((source, InputObject));
                return;
            }
            var hint = InputObject.BaseObject is RayRun
                ? " A run is not its result: pipe runs through Receive-RayRun first (Get-RayRun -SweepId s1 | Receive-RayRun | ...), or use -SweepId."
                : " Pipe the output of Invoke-RayExperiment or Receive-RayRun, or use -SweepId to read a sweep from the run store.";
            WriteError(ErrorMapper.Make(ErrorIds.NotAResult, ErrorCategory.InvalidType,
                $"The input '{InputObject}' is not a RayRunner experiment result ({InputObject.BaseObject.GetType().Name}).{hint}", InputObject));
        }

        /// <summary>
        /// Fills the results from the store for -SweepId; call first in EndProcessing. False when the
        /// sweep is unknown (the error is written): the caller then makes nothing, no file, no summary.
        /// </summary>
        internal bool GatherFromStore()
        {
            if (ParameterSetName != "Store") return true;
            var view = ReadView();
            var runs = LatestAttempts(view?.ListRuns().Where(r => r.SweepId == SweepId) ?? Enumerable.Empty<RunSnapshot>());
            if (runs.Count == 0)
            {
                WriteError(ErrorMapper.Make(ErrorIds.RunNotFound, ErrorCategory.ObjectNotFound,
                    $"The run store has no runs of sweep '{SweepId}'. Get-RayRun lists the sweeps it knows (SweepId column).", SweepId));
                return false;
            }
            foreach (var run in runs)
            {
                // A run still going counts as unfinished, with the status last recorded.
                var result = view!.TryGetResult(run.RunId) ?? new ExperimentResult
                {
                    RunId = run.RunId,
                    SweepId = run.SweepId,
                    Status = run.Status,
                    Config = run.Config,
                    StartedAt = run.StartedAt,
                };
                _results.Add((result, null));
            }
            return true;
        }

        /// <summary>
        /// One run per config: a sweep resumed with -Resume holds the failed attempt and the run that
        /// replaced it; tmgg's summary counts a config once, by its latest run (oldest first kept).
        /// </summary>
        static List<RunSnapshot> LatestAttempts(IEnumerable<RunSnapshot> runs)
        {
            var ordered = runs.OrderBy(r => r.SubmittedAt).ToList();
            var latest = new Dictionary<string, RunSnapshot>(StringComparer.Ordinal);
            foreach (var run in ordered) latest[run.ConfigHash] = run;
            var keep = new HashSet<RunSnapshot>(latest.Values);
            return ordered.Where(keep.Contains).ToList();
        }
    }
}
