using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Local
{
    internal enum LocalRunState
    {
        /// <summary>Accepted, its process not started yet (only inside SubmitAsync, under the backend's lock).</summary>
        Starting,
        Running,
        Finished,
    }

    /// <summary>A run this backend instance started (or is starting). Mutable fields change under the backend's lock.</summary>
    internal sealed class LocalRun
    {
        public LocalRun(TaskSpec spec, SlotRequest request, RunFiles files)
        {
            Spec = spec;
            Request = request;
            Files = files;
        }

        /// <summary>The id this backend knows the run by: the attempt's (the run id for a first attempt).</summary>
        public string RunId => Spec.SubmissionId;
        public TaskSpec Spec { get; }
        public SlotRequest Request { get; }
        public RunFiles Files { get; }

        public TaskRef Ref = null!;
        public LocalRunState State = LocalRunState.Starting;
        public SlotGrant? Grant;
        public ChildProcess? Process;
        public int Pid;
        public string? Identity;
        public bool SessionLeader;
        public LaunchMode Mode;
        public string Program = "The command";
        public DateTimeOffset? StartedAt;
        /// <summary>The piped launcher's copies of stdout and stderr into the log.</summary>
        public Task? OutputCopied;
        public volatile bool CancelRequested;
        int _exitClaimed;

        /// <summary>True for the first of the exit signals (the Exited event, the watchdog): the one that settles the run.</summary>
        public bool TryClaimExit() => Interlocked.Exchange(ref _exitClaimed, 1) == 0;

        int _settled;

        /// <summary>True for the first caller that settles the run (its slots given back, its outcome set); later calls do nothing.</summary>
        public bool TrySettle() => Interlocked.Exchange(ref _settled, 1) == 0;

        public readonly TaskCompletionSource<TaskOutput> Completion = new TaskCompletionSource<TaskOutput>(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
