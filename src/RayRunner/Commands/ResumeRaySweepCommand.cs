using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Resume-RaySweep: dispatches again the queued runs whose process ended before handing them to
    /// the backend (a closed window, a killed runbook): orphans. Each is adopted under the run store's
    /// lock, so when several sessions resume at once every run is dispatched exactly once. Writes the
    /// runs it dispatched. -SweepId limits it to sweeps (literal ids, from RayRun objects by property
    /// name); without it, every orphan in the store. Wait-RayRun and Receive-RayRun -Wait do the same
    /// for the runs they are given, so this cmdlet is for "start them now, collect later".
    /// </summary>
    /// <remarks>
    /// Why ShouldProcess: it hands work to a cluster. The orphans are previewed from the store first,
    /// so -WhatIf neither connects nor dispatches. Without a connection it connects to the backend the
    /// orphans were recorded for (auto-start off), as Wait-RayRun does.
    /// </remarks>
    [Cmdlet(VerbsLifecycle.Resume, "RaySweep", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(RayRun))]
    public sealed class ResumeRaySweepCommand : RayCmdlet
    {
        /// <summary>The sweeps to resume (exact ids, no wildcards). Left out: every orphaned queued run.</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [AllowNull]
        [AllowEmptyString]
        [AllowEmptyCollection]
        [ArgumentCompleter(typeof(SweepIdCompleter))]
        public string?[]? SweepId { get; set; }

        /// <summary>
        /// Also start again, as new runs of the same sweep, the runs that ended with these statuses
        /// (failed, timeout, cancelled), from the configs the run store holds: no config list needed.
        /// A config whose latest run completed or is still going is not started again. Needs -SweepId.
        /// </summary>
        [Parameter]
        [ValidateSet(RunStatus.Failed, RunStatus.Timeout, RunStatus.Cancelled, IgnoreCase = true)]
        public string[]? Rerun { get; set; }

        readonly List<string> _sweepIds = new List<string>();
        bool _sawInput;

        protected override void ProcessRecord()
        {
            // A piped run outside any sweep binds no sweep id: it must not widen the call to "every orphan".
            if (MyInvocation.BoundParameters.ContainsKey(nameof(SweepId)) || MyInvocation.ExpectingInput) _sawInput = true;
            foreach (var id in SweepId ?? Array.Empty<string?>())
            {
                if (string.IsNullOrEmpty(id)) continue;
                if (!RunIds.IsValid(id!))
                {
                    WriteError(ErrorMapper.Make(ErrorIds.SweepIdInvalid, ErrorCategory.InvalidArgument,
                        WildcardPattern.ContainsWildcardCharacters(id)
                            ? $"-SweepId '{id}' has wildcards; Resume-RaySweep takes exact sweep ids. Select the sweeps first: Get-RayRun -SweepId '{id}' | Resume-RaySweep."
                            : $"-SweepId '{id}' is not a sweep id: ids are 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.",
                        id));
                    continue;
                }
                if (!_sweepIds.Contains(id!, StringComparer.Ordinal)) _sweepIds.Add(id!);
            }
        }

        protected override void EndProcessing()
        {
            IReadOnlyList<string?> targets;
            if (_sweepIds.Count > 0) targets = _sweepIds.Cast<string?>().ToList();
            // Fed by a pipeline that delivered nothing (Get-RayRun -SweepId x -Status queued matching
            // no run) is not "left out": it must not widen the call to every orphan of every sweep.
            else if (!_sawInput && !MyInvocation.ExpectingInput) targets = new string?[] { null };
            else
            {
                WriteVerbose("No sweep id was given (nothing was piped in, or the piped runs belong to no sweep): nothing to resume.");
                return;
            }

            if (Rerun != null && _sweepIds.Count == 0)
                ThrowTerminatingError(ErrorMapper.Make(ErrorIds.ResumeNeedsSweepId, ErrorCategory.InvalidArgument,
                    "-Rerun starts the runs of a sweep again, so it needs -SweepId: Resume-RaySweep -SweepId <id> -Rerun failed.", null));

            var connection = ModuleSession.Current;
            foreach (var sweepId in targets)
            {
                var what = sweepId == null ? "the run store" : $"sweep {sweepId}";
                var view = ReadView();
                var reader = Records();
                // A sweep nobody recorded is a mistake to report (a typo, the wrong $RAYRUNNER_HOME), not "nothing to do".
                if (sweepId != null && (view == null || reader == null || !view.ListRuns().Any(r => r.SweepId == sweepId)))
                {
                    WriteError(ErrorMapper.Make(ErrorIds.SweepNotFound, ErrorCategory.ObjectNotFound,
                        $"No sweep with id '{sweepId}' is recorded in the run store. Get-RayRun | Group-Object SweepId lists the sweeps that are.", sweepId));
                    continue;
                }
                if (Rerun != null) connection = RerunEnded(sweepId!, reader!, connection);
                var orphans = reader?.ListOrphans(sweepId) ?? Array.Empty<RunSnapshot>();
                // A connection dispatches only runs made for its backend; the others wait for one that is.
                var backend = connection?.Runs.BackendName ?? orphans.FirstOrDefault()?.Backend;
                var elsewhere = orphans.Where(o => !string.Equals(o.Backend, backend, StringComparison.Ordinal)).ToList();
                var here = orphans.Where(o => string.Equals(o.Backend, backend, StringComparison.Ordinal)).ToList();
                if (elsewhere.Count > 0)
                    WriteWarning($"{elsewhere.Count} queued run(s) of {what} were made for another backend ({string.Join(", ", elsewhere.Select(o => o.Backend).Distinct())}) " +
                                 $"and are left queued: {string.Join(", ", elsewhere.Select(o => o.RunId))}. Connect-RayCluster to that backend, then Resume-RaySweep again.");
                if (here.Count == 0)
                {
                    WriteVerbose($"No queued run of {what} is waiting for a process that ended: nothing to resume.");
                    continue;
                }
                if (!ShouldProcess($"{what}: {here.Count} queued run(s) whose process ended ({string.Join(", ", here.Select(o => o.RunId))})",
                        $"Dispatch to the {backend} backend"))
                    continue;

                connection ??= ConnectionToFollow(here[0]);
                try
                {
                    var adopted = Await(connection.Runs.ResumeQueuedAsync(sweepId, StopToken));
                    WriteVerbose($"Dispatched {adopted.Count} queued run(s) of {what} to the {connection.Backend.Name} backend at {connection.Backend.Address}" +
                                 (adopted.Count < here.Count ? $"; {here.Count - adopted.Count} were taken up by another process meanwhile." : "."));
                    foreach (var spawned in adopted)
                    {
                        var run = connection.Runs.Find(spawned.RunId);
                        if (run != null) WriteObject(run.ToPSObject());
                    }
                }
                catch (PipelineStoppedException)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    WriteMappedError(ex, ErrorIds.ResumeFailed, sweepId);
                }
            }
        }

        /// <summary>Starts the sweep's runs that ended with a -Rerun status again; returns the connection used (made when there was none).</summary>
        ClusterConnection? RerunEnded(string sweepId, RunStoreReader reader, ClusterConnection? connection)
        {
            var statuses = Rerun!.Select(s => s.ToLowerInvariant()).Distinct().ToList();
            var ended = reader.ListRuns().Where(r => r.SweepId == sweepId && statuses.Contains(r.Status)).ToList();
            if (ended.Count == 0)
            {
                WriteVerbose($"No run of sweep {sweepId} ended {string.Join(" or ", statuses)}: nothing to run again.");
                return connection;
            }
            if (!ShouldProcess($"sweep {sweepId}: {ended.Count} run(s) that ended {string.Join(" or ", statuses)} ({string.Join(", ", ended.Select(r => r.RunId))})",
                    "Start again as new runs of the sweep"))
                return connection;
            connection ??= ConnectionToFollow(ended[0]);
            try
            {
                var started = Await(SweepRerun.RunAsync(connection.Runner, sweepId, statuses, StopToken));
                WriteVerbose($"Started {started.Count} run(s) of sweep {sweepId} again on the {connection.Backend.Name} backend; the earlier runs and their results stay.");
                foreach (var spawned in started)
                    if (connection.Runs.Find(spawned.RunId) is { } run) WriteObject(run.ToPSObject());
            }
            catch (PipelineStoppedException)
            {
                throw;
            }
            catch (Exception ex)
            {
                WriteMappedError(ex, ErrorIds.ResumeFailed, sweepId);
            }
            return connection;
        }
    }
}
