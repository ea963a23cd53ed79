using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Get-RayRun: the runs this session knows (tracked now, or remembered by the run store), oldest
    /// first, with statuses asked fresh of the backend. Filters combine: -RunId and -SweepId take
    /// wildcards, -Status any of the status words, -Tag any of the run's tags (wildcards). A -RunId without wildcards that matches nothing is
    /// an error, as with Get-Job -Id. Never connects: with no connection it reads the run store
    /// ($RAYRUNNER_HOME) and shows each run's recorded status, so a runbook can list what another
    /// process started without starting a cluster. Queued runs whose session has ended are flagged
    /// (IsOrphan) and counted in one warning that names the command that dispatches them.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "RayRun")]
    [OutputType(typeof(RayRun))]
    [OutputType(typeof(RayRunAttempt))]
    public sealed class GetRayRunCommand : RayCmdlet
    {
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "SubmissionId")]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(RunIdCompleter))]
        public string[]? RunId { get; set; }

        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(SweepIdCompleter))]
        public string[]? SweepId { get; set; }

        /// <summary>Runs with at least one of these tags (given with -Tag when they were started); wildcards allowed.</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[]? Tag { get; set; }

        [Parameter]
        [ValidateSet(RunStatus.Queued, RunStatus.Pending, RunStatus.Running, RunStatus.Completed, RunStatus.Failed,
            RunStatus.Timeout, RunStatus.Cancelled, RunStatus.Unknown, RunStatus.Damaged, IgnoreCase = true)]
        public string[]? Status { get; set; }

        /// <summary>
        /// One object per attempt of each run (RayRunner.RayRunAttempt) instead of one per run: each
        /// retry's status, error and why it was retried. Pipe them to Get-RayRunLog for each attempt's log.
        /// </summary>
        [Parameter]
        public SwitchParameter IncludeAttempts { get; set; }

        readonly List<string> _runIds = new List<string>();
        readonly List<string> _sweepIds = new List<string>();
        bool _gotInput;

        protected override void ProcessRecord()
        {
            _gotInput = true;
            if (RunId != null) _runIds.AddRange(RunId);
            if (SweepId != null) _sweepIds.AddRange(SweepId);
        }

        protected override void EndProcessing()
        {
            // Fed by a pipeline that delivered no run ($null, an empty array, input that failed to
            // bind): select nothing, as a cmdlet working in ProcessRecord would. Listing every run
            // here turned '$runs | Get-RayRun | Remove-RayRun' with an empty $runs into removing all.
            if (MyInvocation.ExpectingInput && !_gotInput) return;
            // The session's read view: the live runner, or without a connection the run store alone
            // (runs of earlier sessions and other processes, with their recorded status), so nothing
            // connects or starts a cluster. With a connection every unfinished run is asked of the
            // backend, those of earlier sessions too, as Get-RayRunStatus does: listing only the
            // tracked ones fresh showed a run a killed session left going as pending after it ended,
            // though the store alone (no connection) already showed it completed.
            var view = _view = ReadView();
            var runs = view == null ? Array.Empty<RayRun>()
                : (IReadOnlyList<RayRun>)view.ListRuns().Select(s => RayRun.FromSnapshot(s, tracked: view.IsTracked(s.RunId), s.Tags)).ToList();
            var fresh = RunAll(Select(runs), async (run, ct) =>
                !run.IsFinished && await view!.RefreshAsync(run.RunId, ct).ConfigureAwait(false) is { } s
                    ? RayRun.FromSnapshot(s, tracked: view.IsTracked(run.RunId), s.Tags)
                    : run);
            Write(runs, fresh);
        }

        IRunView? _view;

        List<RayRun> Select(IReadOnlyList<RayRun> runs)
        {
            var idPatterns = _runIds.Select(p => WildcardPattern.Get(p, WildcardOptions.IgnoreCase)).ToList();
            var sweepPatterns = _sweepIds.Select(p => WildcardPattern.Get(p, WildcardOptions.IgnoreCase)).ToList();
            var tagPatterns = (Tag ?? Array.Empty<string>()).Select(p => WildcardPattern.Get(p, WildcardOptions.IgnoreCase)).ToList();
            return runs.Where(r =>
                (idPatterns.Count == 0 || idPatterns.Any(p => p.IsMatch(r.RunId))) &&
                (sweepPatterns.Count == 0 || (r.SweepId != null && sweepPatterns.Any(p => p.IsMatch(r.SweepId)))) &&
                (tagPatterns.Count == 0 || r.Tags.Any(t => tagPatterns.Any(p => p.IsMatch(t))))).ToList();
        }

        /// <summary>Writes the selected runs that pass -Status, then a RunNotFound for each literal -RunId nothing matched.</summary>
        void Write(IReadOnlyList<RayRun> all, IReadOnlyList<(RayRun Run, RayRun? Refreshed, Exception? Error)> selected)
        {
            var statuses = Status == null ? null : new HashSet<string>(Status, StringComparer.OrdinalIgnoreCase);
            var orphans = new List<(string, string?)>();
            var shownIds = new List<string>();
            foreach (var (run, refreshed, error) in selected)
            {
                if (error != null) WriteVerbose($"Could not refresh the status of run {run.RunId}: {error.Message}");
                var shown = refreshed ?? run;
                if (statuses != null && !statuses.Contains(shown.Status)) continue;
                // Listed, never dropped: the run is there, and the user should know its record is not.
                if (shown.Status == RunStatus.Damaged) WriteWarning($"Run {shown.RunId}: {shown.ErrorMessage}");
                if (shown.IsOrphan) orphans.Add((shown.RunId, shown.SweepId));
                shownIds.Add(shown.RunId);
                if (IncludeAttempts && shown.Snapshot != null)
                    foreach (var attempt in RayRunAttempt.Of(shown.Snapshot, shown)) WriteObject(attempt.ToPSObject());
                else
                    WriteObject(shown.ToPSObject());
            }
            if (OrphanedRunsWarning.For(orphans) is { } orphaned) WriteWarning(orphaned);
            if (SilentHeadsWarning.For(_view, shownIds) is { } silent) WriteWarning(silent);

            foreach (var id in _runIds)
                if (!WildcardPattern.ContainsWildcardCharacters(id) && !all.Any(r => string.Equals(r.RunId, id, StringComparison.OrdinalIgnoreCase)))
                    WriteRunNotFound(id);
        }
    }
}
