using System;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Disconnect-RayCluster: tmgg's shutdown. The backend stops a cluster only if RayRunner started
    /// it; a cluster that was already running is left running. Runs still active are not stopped
    /// here (use Stop-RayRun): a warning names how many there are.
    /// </summary>
    [Cmdlet(VerbsCommunications.Disconnect, "RayCluster", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(RayCluster))]
    public sealed class DisconnectRayClusterCommand : RayCmdlet
    {
        /// <summary>Write the closed connection's description to the pipeline.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing()
        {
            var connection = ModuleSession.Current;
            if (connection == null)
            {
                WriteVerbose("This session has no RayRunner connection: nothing to disconnect.");
                return;
            }
            var description = connection.Describe();
            if (!ShouldProcess($"{description.Backend} backend at {description.Address}", "Disconnect (stops the cluster only if RayRunner started it)"))
                return;

            if (description.ActiveRuns > 0)
                WriteWarning($"{description.ActiveRuns} run(s) have not finished. Disconnecting stops watching them; they keep running (on a Ray cluster, and on the local backend on Linux and macOS), and any later session collects them.");
            WriteVerbose($"Shutting down the {description.Backend} backend at {description.Address}.");
            ModuleSession.Clear(connection);
            try
            {
                Await(connection.CloseAsync(StopToken));
            }
            catch (PipelineStoppedException)
            {
                throw;
            }
            catch (Exception ex)
            {
                ThrowTerminatingError(ErrorMapper.From(ex, ErrorIds.DisconnectFailed, description));
            }
            // The backend says whether it stopped a cluster it had started or left one it found.
            // Said out loud (the host's information stream): whether a cluster was stopped matters.
            if (connection.Backend.Abilities.Cluster?.ShutdownMessage is { } said)
                WriteInformation(new HostInformationMessage { Message = said }, new[] { "PSHOST" });
            if (PassThru)
            {
                description.IsConnected = false;
                description.ActiveRuns = 0;
                WriteObject(description.ToPSObject());
            }
        }
    }
}
