using System;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Receive-RayRun: a finished run's ExperimentResult. Named after Receive-Job so that
    /// <c>Start-RayExperiment | Wait-RayRun | Receive-RayRun</c> reads like the job pipeline users
    /// know; unlike Receive-Job it never consumes anything (a result is a record, not a stream), so
    /// it can be repeated and needs no -Keep. A run still going is a RunNotFinished error unless
    /// -Wait is given, which waits for it first (as Receive-Job -Wait does). Without a connection, a
    /// finished run is read from the run store; one still going makes the session connect to the
    /// run's backend (a queued run whose process died is then dispatched here by -Wait).
    /// </summary>
    [Cmdlet(VerbsCommunications.Receive, "RayRun")]
    [OutputType(typeof(RayExperimentResult))]
    public sealed class ReceiveRayRunCommand : RunTargetCmdlet
    {
        [Parameter]
        public SwitchParameter Wait { get; set; }


        // Per record, so results stream; waiting on runs one after another costs nothing, as they run side by side.
        protected override void ProcessRecord()
        {
            foreach (var id in RunId)
            {
                // One read view, connected or not: a result it already has (recorded, or seen in a
                // local run's exit file) needs no backend; only a run still going is followed.
                var view = ReadView();
                var snapshot = view?.GetRun(id);
                if (snapshot == null)
                {
                    WriteRunNotFound(id);
                    continue;
                }
                if (WriteIfDamaged(snapshot)) continue;
                var recorded = view!.TryGetResult(id);
                if (recorded != null)
                {
                    WriteResult(recorded, snapshot.Tags, view.ListRuns);
                    continue;
                }
                Receive(ConnectionToFollow(snapshot).Runs, id);
            }
        }

        void Receive(RunCatalog runs, string id)
        {
            if (runs.Find(id) == null)
            {
                WriteRunNotFound(id);
                return;
            }
            try
            {
                ExperimentResult? result;
                if (Wait)
                {
                    result = Await(runs.GetResultAsync(id, StopToken));
                }
                else
                {
                    result = runs.TryGetResult(id);
                    if (result == null && !runs.IsTracked(id))
                    {
                        // A run nobody here follows may have ended unseen: asking its status records
                        // the result when the backend says it has ended.
                        Await(runs.GetStatusAsync(id, StopToken));
                        result = runs.TryGetResult(id);
                    }
                }
                if (result == null)
                {
                    WriteError(ErrorMapper.Make(ErrorIds.RunNotFinished, ErrorCategory.InvalidOperation,
                        $"Run '{id}' has not finished, so it has no result yet. Wait for it first (Wait-RayRun), or use Receive-RayRun -Wait.", id));
                    return;
                }
                WriteResult(result, runs.TagsOf(id), runs.Snapshots);
            }
            catch (PipelineStoppedException)
            {
                throw;
            }
            catch (Exception ex)
            {
                WriteMappedError(ex, ErrorIds.ResultFailed, id);
            }
        }
    }
}
