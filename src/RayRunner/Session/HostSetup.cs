using System.Management.Automation;
using System.Management.Automation.Runspaces;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// What a host embedding the module passes in, per runspace rather than per process: a
    /// <see cref="RunnerSetup"/> in the session variable <c>RayRunnerSetup</c> (added to the
    /// InitialSessionState). Its <see cref="RunnerSetup.StoreRoot"/> and
    /// <see cref="RunnerSetup.BuildBackend"/> are used for every connection and store look-up of that
    /// session; Connect-RayCluster's parameters still choose the backend settings. Without it the
    /// module uses $RAYRUNNER_HOME and the real backends.
    /// </summary>
    internal static class HostSetup
    {
        public const string VariableName = "RayRunnerSetup";

        /// <summary>The host's setup for this cmdlet's session, or the defaults.</summary>
        public static RunnerSetup For(PSCmdlet cmdlet)
        {
            var setup = cmdlet.SessionState.PSVariable.GetValue(VariableName) as RunnerSetup ?? Default;
            var rs = Runspace.DefaultRunspace;
            if (rs != null) Seen[rs.InstanceId] = setup;
            return setup;
        }

        /// <summary>The setup each runspace's cmdlets last read, for tab completion (closed runspaces are few and small).</summary>
        static readonly System.Collections.Concurrent.ConcurrentDictionary<System.Guid, RunnerSetup> Seen =
            new System.Collections.Concurrent.ConcurrentDictionary<System.Guid, RunnerSetup>();

        /// <summary>
        /// The setup of the runspace on this thread, for tab completion (which has no cmdlet and runs
        /// while the runspace is busy, so it asks through a nested pipeline), or the defaults.
        /// </summary>
        public static RunnerSetup ForCurrentRunspace()
        {
            var rs = Runspace.DefaultRunspace;
            if (rs == null) return Default;
            if (Seen.TryGetValue(rs.InstanceId, out var seen)) return seen;
            try
            {
                using var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
                ps.AddCommand("Get-Variable").AddParameter("Name", VariableName).AddParameter("ValueOnly")
                  .AddParameter("ErrorAction", ActionPreference.Ignore);
                foreach (var value in ps.Invoke())
                    if (value?.BaseObject is RunnerSetup setup) return setup;
            }
            catch (PSInvalidOperationException)
            {
                // No nested pipeline possible here: the defaults are the honest answer.
            }
            return Default;
        }

        static readonly RunnerSetup Default = new RunnerSetup();

        /// <summary>The store's folder this session uses, for messages.</summary>
        public static string StoreRootOf(RunnerSetup setup) =>
            string.IsNullOrWhiteSpace(setup.StoreRoot) ? FileRunStore.DefaultRoot() : setup.StoreRoot!;
    }
}
