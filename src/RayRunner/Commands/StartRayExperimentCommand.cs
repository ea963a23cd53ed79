using System.Management.Automation;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Start-RayExperiment: tmgg's spawn_experiment / spawn_sweep. Returns one RayRun per config at
    /// once, without waiting for the runs; a piped list of configs is one sweep with unique run ids.
    /// Connects with the defaults when the session has no connection.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "RayExperiment", SupportsShouldProcess = true)]
    [OutputType(typeof(RayRun))]
    public sealed class StartRayExperimentCommand : ExperimentCmdlet
    {
        protected override void EndProcessing()
        {
            if (Configs.Count == 0 || !ConfirmConfigs()) return;
            var connection = ConnectIfNeeded();
            foreach (var spawned in SubmitAll(connection))
            {
                var run = connection.Runs.Find(spawned.RunId);
                if (run != null) WriteObject(run.ToPSObject());
            }
        }
    }
}
