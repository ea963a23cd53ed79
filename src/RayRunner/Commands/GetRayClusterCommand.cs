using System.Management.Automation;

namespace RayRunner.PowerShell
{
    /// <summary>Get-RayCluster: the session's connection, or nothing when there is none.</summary>
    [Cmdlet(VerbsCommon.Get, "RayCluster")]
    [OutputType(typeof(RayCluster))]
    public sealed class GetRayClusterCommand : RayCmdlet
    {
        protected override void EndProcessing()
        {
            var connection = ModuleSession.Current;
            if (connection == null)
            {
                WriteVerbose("This session has no RayRunner connection. Connect-RayCluster makes one.");
                return;
            }
            WriteObject(connection.Describe().ToPSObject());
        }
    }
}
