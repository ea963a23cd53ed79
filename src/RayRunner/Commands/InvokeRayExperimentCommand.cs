using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Invoke-RayExperiment: tmgg's run_experiment / run_sweep. Starts the configs, waits for all of
    /// them with Write-Progress, and writes one ExperimentResult per config in input order. A failed
    /// run is a result with Status failed, not an error. Ctrl+C stops the wait and cancels the runs
    /// this call started: a blocking call leaves nothing running behind the user's back.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "RayExperiment", SupportsShouldProcess = true)]
    [OutputType(typeof(RayExperimentResult))]
    public sealed class InvokeRayExperimentCommand : ExperimentCmdlet
    {
        const int ProgressId = 0x5259; // "RY": distinct from Wait-RayRun's

        protected override void EndProcessing()
        {
            if (Configs.Count == 0 || !ConfirmConfigs()) return;
            var connection = ConnectIfNeeded();
            var spawned = SubmitAll(connection);
            if (spawned.Count == 0) return;
            var ids = spawned.Select(s => s.RunId).ToList();
            var activity = $"Running {ids.Count} experiment(s) on the {connection.Backend.Name} backend";

            try
            {
                WaitForRuns(connection.Runs, ids, any: false, timeout: null, ProgressId, activity);
            }
            catch (PipelineStoppedException)
            {
                CancelStarted(connection, ids);
                throw;
            }

            // Collected first, written after: every result gets every metric of the sweep as a
            // property (null where a run has none), so Export-Csv keeps all columns.
            var results = new List<(ExperimentResult Result, IReadOnlyList<string> Tags)>(ids.Count);
            foreach (var id in ids)
            {
                try
                {
                    results.Add((Await(connection.Runs.GetResultAsync(id, StopToken)), connection.Runs.TagsOf(id)));
                }
                catch (PipelineStoppedException)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    WriteMappedError(ex, ErrorIds.ResultFailed, id);
                }
                // tmgg's run_sweep drops finished runs from tracking; the store keeps their record.
                connection.Runs.Forget(id);
            }
            var allMetrics = results.SelectMany(r => r.Result.Metrics.Keys.Concat(r.Result.TextMetrics.Keys)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            foreach (var (result, tags) in results) WriteResult(result, tags, connection.Runs.Snapshots, allMetrics);
        }

        static void CancelStarted(ClusterConnection connection, IReadOnlyList<string> ids)
        {
            // Bounded, so a backend that no longer answers cannot hang the stopped pipeline.
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var cancels = ids.Select(id => connection.Runs.CancelAsync(id, limit.Token)).ToArray();
            try { Task.WaitAll(cancels, TimeSpan.FromSeconds(10)); }
            catch (Exception) { /* best effort: the runs' own records say how they ended */ }
        }
    }
}
