using System.Management.Automation;

namespace RayRunner.PowerShell
{
    /// <summary>A run's status at one moment (type name <c>RayRunner.RunStatus</c>), tmgg's get_status answer.</summary>
    public sealed class RayRunStatus
    {
        public RayRunStatus(string runId, string status)
        {
            RunId = runId;
            Status = status;
        }

        public string RunId { get; }
        /// <summary>queued, pending, running, completed, failed, timeout, cancelled, or unknown (not tracked).</summary>
        public string Status { get; }
        public bool IsFinished => Core.RunStatus.IsTerminal(Status);

        public override string ToString() => Status;

        internal PSObject ToPSObject() => PSValues.WithTypeName(this, TypeNames.RunStatus);
    }
}
