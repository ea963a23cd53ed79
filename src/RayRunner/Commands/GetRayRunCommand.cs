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
    /// wildcards, -Status any of the status words. A -RunId without wildcards that matches nothing is
    /// an error, as with Get-Job -Id. Never connects: with no connection there are no runs.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "RayRun")]
    [OutputType(typeof(RayRun))]
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
        public string[]? SweepId { get; set; }

        [Parameter]
        [ValidateSet(RunStatus.Queued, RunStatus.Pending, RunStatus.Running, RunStatus.Completed, RunStatus.Failed,
            RunStatus.Timeout, RunStatus.Cancelled, RunStatus.Unknown, IgnoreCase = true)]
        public string[]? Status { get; set; }

        readonly List<string> _runIds = new List<string>();
        readonly List<string> _sweepIds = new List<string>();

        protected override void ProcessRecord()
        {
            if (RunId != null) _runIds.AddRange(RunId);
            if (SweepId != null) _sweepIds.AddRange(SweepId);
        }

        protected override void EndProcessing()
        {
            var connection = ModuleSession.Current;
            if (connection == null)
            {
                WriteVerbose("This session has no RayRunner connection, so it knows no runs.");
                foreach (var id in _runIds.Where(id => !WildcardPattern.ContainsWildcardCharacters(id))) WriteRunNotFound(id);
                return;
            }

            var runs = connection.Runs.List();
            var idPatterns = _runIds.Select(p => WildcardPattern.Get(p, WildcardOptions.IgnoreCase)).ToList();
            var sweepPatterns = _sweepIds.Select(p => WildcardPattern.Get(p, WildcardOptions.IgnoreCase)).ToList();
            var selected = runs.Where(r =>
                (idPatterns.Count == 0 || idPatterns.Any(p => p.IsMatch(r.RunId))) &&
                (sweepPatterns.Count == 0 || (r.SweepId != null && sweepPatterns.Any(p => p.IsMatch(r.SweepId))))).ToList();

            // A snapshot only knows the last phase seen: ask the backend about live, unfinished runs (all at once).
            var fresh = RunAll(selected, async (run, ct) =>
                run.IsTracked && !run.IsFinished ? await connection.Runs.FindFreshAsync(run.RunId, ct).ConfigureAwait(false) ?? run : run);

            var statuses = Status == null ? null : new HashSet<string>(Status, StringComparer.OrdinalIgnoreCase);
            foreach (var (run, refreshed, error) in fresh)
            {
                if (error != null) WriteVerbose($"Could not refresh the status of run {run.RunId}: {error.Message}");
                var shown = refreshed ?? run;
                if (statuses == null || statuses.Contains(shown.Status)) WriteObject(shown.ToPSObject());
            }

            foreach (var id in _runIds)
                if (!WildcardPattern.ContainsWildcardCharacters(id) && !runs.Any(r => string.Equals(r.RunId, id, StringComparison.OrdinalIgnoreCase)))
                    WriteRunNotFound(id);
        }
    }
}
