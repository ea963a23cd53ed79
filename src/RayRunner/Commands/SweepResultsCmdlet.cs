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

        /// <summary>
        /// Read every run of these sweeps from the run store instead of the pipeline. Wildcards, as
        /// Get-RayRun -SweepId: 'lr-*' takes every sweep whose id matches. A literal id that matches
        /// no sweep is a RunNotFound error; a pattern that matches none writes nothing.
        /// </summary>
        [Parameter(Mandatory = true, ParameterSetName = "Store")]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(SweepIdCompleter))]
        public string[]? SweepId { get; set; }

        readonly List<(ExperimentResult Result, PSObject? Original)> _results = new List<(ExperimentResult, PSObject?)>();

        /// <summary>The results gathered, in input order (store: oldest sweep first, each sweep's runs oldest first).</summary>
        internal IReadOnlyList<ExperimentResult> Results => _results.Select(r => r.Result).ToList();

        /// <summary>
        /// The results by sweep: one group per sweep -SweepId matched, in the order of their first
        /// run; piped results are one group, whatever sweeps they come from.
        /// </summary>
        internal IReadOnlyList<IReadOnlyList<ExperimentResult>> ResultsBySweep =>
            ParameterSetName != "Store"
                ? new[] { Results }
                : Results.GroupBy(r => r.SweepId, StringComparer.Ordinal).Select(g => (IReadOnlyList<ExperimentResult>)g.ToList()).ToList();

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
            var patterns = SweepId!.Select(p => WildcardPattern.Get(p, WildcardOptions.IgnoreCase)).ToList();
            var all = view?.ListRuns().Where(r => r.SweepId != null).ToList() ?? new List<RunSnapshot>();
            foreach (var literal in SweepId!.Where(p => !WildcardPattern.ContainsWildcardCharacters(p)))
                if (!all.Any(r => string.Equals(r.SweepId, literal, StringComparison.OrdinalIgnoreCase)))
                    WriteError(ErrorMapper.Make(ErrorIds.RunNotFound, ErrorCategory.ObjectNotFound,
                        $"The run store has no runs of sweep '{literal}'. Get-RayRun lists the sweeps it knows (SweepId column).", literal));
            var matched = all.Where(r => patterns.Any(p => p.IsMatch(r.SweepId!)));
            // Sweep by sweep, in the order each began, so -SweepId 'lr-*' reads like the sweeps were run.
            var runs = matched.GroupBy(r => r.SweepId!, StringComparer.Ordinal)
                .OrderBy(g => g.Min(r => r.SubmittedAt))
                .SelectMany(g => LatestAttempts(g))
                .ToList();
            if (runs.Count == 0)
            {
                WriteVerbose($"No sweep in the run store matches -SweepId {string.Join(", ", SweepId!)}.");
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
