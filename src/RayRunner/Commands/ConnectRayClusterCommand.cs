using System;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Security;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Connect-RayCluster: opens the session's connection (backend + runner). Connecting again with
    /// settings that match the live connection returns it unchanged (tmgg's "skip if connected");
    /// different settings replace it, unless runs are still active on it.
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "RayCluster")]
    [OutputType(typeof(RayCluster))]
    public sealed class ConnectRayClusterCommand : RayCmdlet
    {
        /// <summary>Ray dashboard URL, e.g. http://head:8265.</summary>
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        public string? Address { get; set; }

        [Parameter]
        public BackendChoice Backend { get; set; } = BackendChoice.Auto;

        [Parameter]
        [ValidateRange(1, 4096)]
        public int MaxConcurrent { get; set; } = 4;

        /// <summary>CPUs each run reserves. Not given: none on the local backend (MaxConcurrent alone limits), one on Ray.</summary>
        [Parameter]
        [ValidateRange(0, 1024)]
        public int NumCpusPerTask { get; set; } = 1;

        [Parameter]
        [ValidateRange(0.0, 1024.0)]
        public double NumGpusPerTask { get; set; }

        /// <summary>Ray token: a SecureString (preferred) or a string. Never printed, logged or stored.</summary>
        [Parameter]
        [ValidateNotNull]
        public object? Token { get; set; }

        [Parameter]
        public SwitchParameter NoAutoStart { get; set; }

        /// <summary>Ray: leave finished jobs on the head. By default a job is deleted once its result and whole log are in the run store.</summary>
        [Parameter]
        public SwitchParameter KeepJobs { get; set; }

        protected override void EndProcessing()
        {
            var settings = new BackendSettings
            {
                Backend = Backend,
                Address = Address,
                Token = ReadToken(),
                MaxConcurrent = MaxConcurrent,
                NumCpusPerTask = NumCpusPerTask,
                NumGpusPerTask = NumGpusPerTask,
                NoAutoStart = NoAutoStart.IsPresent,
                KeepJobs = KeepJobs.IsPresent,
            };

            var current = ModuleSession.Current;
            if (current != null)
            {
                if (current.Matches(settings, Named()))
                {
                    WriteVerbose($"Already connected to the {current.Backend.Name} backend at {current.Backend.Address}: reusing the connection.");
                    WriteObject(current.Describe().ToPSObject());
                    return;
                }
                var active = current.ActiveRunCount();
                if (active > 0)
                {
                    ThrowTerminatingError(ErrorMapper.Make(ErrorIds.ConnectionInUse, ErrorCategory.ResourceBusy,
                        $"This session is connected to the {current.Backend.Name} backend at {current.Backend.Address} with {active} active run(s), and the new settings differ. " +
                        "Wait for the runs (Wait-RayRun) or stop them (Stop-RayRun), then Disconnect-RayCluster before connecting elsewhere.",
                        current.Describe()));
                }
                WriteVerbose($"Replacing the connection to the {current.Backend.Name} backend at {current.Backend.Address}.");
                ModuleSession.Clear(current);
                try
                {
                    Await(current.CloseAsync(StopToken));
                }
                catch (PipelineStoppedException)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    WriteWarning($"Closing the previous connection failed: {ex.Message}");
                }
            }

            var connection = OpenConnection(settings, cpusPerTaskGiven: MyInvocation.BoundParameters.ContainsKey(nameof(NumCpusPerTask)));
            ModuleSession.Set(connection);
            WriteObject(connection.Describe().ToPSObject());
        }

        ConnectRequestShape Named() => new ConnectRequestShape
        {
            Backend = MyInvocation.BoundParameters.ContainsKey(nameof(Backend)),
            Address = MyInvocation.BoundParameters.ContainsKey(nameof(Address)),
            MaxConcurrent = MyInvocation.BoundParameters.ContainsKey(nameof(MaxConcurrent)),
            NumCpusPerTask = MyInvocation.BoundParameters.ContainsKey(nameof(NumCpusPerTask)),
            NumGpusPerTask = MyInvocation.BoundParameters.ContainsKey(nameof(NumGpusPerTask)),
            Token = MyInvocation.BoundParameters.ContainsKey(nameof(Token)),
            NoAutoStart = MyInvocation.BoundParameters.ContainsKey(nameof(NoAutoStart)),
            KeepJobs = MyInvocation.BoundParameters.ContainsKey(nameof(KeepJobs)),
        };

        string? ReadToken()
        {
            switch (PSValues.Unwrap(Token))
            {
                case null:
                    return null;
                case SecureString secure:
                    return Plain(secure);
                case PSCredential credential:
                    return Plain(credential.Password);
                case string text when text.Trim().Length > 0:
                    return text;
                case string _:
                    ThrowTerminatingError(ErrorMapper.Make(ErrorIds.InvalidToken, ErrorCategory.InvalidArgument,
                        "-Token is empty. Give the Ray token (Read-Host -AsSecureString reads it without showing it), " +
                        "or leave -Token out to use RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token as Ray does.",
                        null));
                    return null;
                default:
                    // Name the type, never the value.
                    ThrowTerminatingError(ErrorMapper.Make(ErrorIds.InvalidToken, ErrorCategory.InvalidArgument,
                        $"-Token takes a SecureString (Read-Host -AsSecureString), a PSCredential or a string, but it was given a value of type {PSValues.Unwrap(Token)!.GetType().FullName}. Pass the token itself.",
                        null));
                    return null;
            }
        }

        static string Plain(SecureString secure)
        {
            var ptr = Marshal.SecureStringToGlobalAllocUnicode(secure);
            try { return Marshal.PtrToStringUni(ptr) ?? ""; }
            finally { Marshal.ZeroFreeGlobalAllocUnicode(ptr); }
        }
    }
}
