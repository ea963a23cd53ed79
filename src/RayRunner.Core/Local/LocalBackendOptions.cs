using System;

namespace RayRunner.Core.Local
{
    /// <summary>How one <see cref="LocalProcessBackend"/> runs processes. Every limit here belongs to that one instance.</summary>
    public sealed class LocalBackendOptions
    {
        /// <summary>At most this many runs of this backend at once.</summary>
        public int MaxConcurrent { get; init; } = 4;

        /// <summary>CPU slots to hand out (a run takes its <c>TaskOptions.NumCpus</c>); null: <see cref="Environment.ProcessorCount"/>.</summary>
        public int? NumCpus { get; init; }

        /// <summary>
        /// GPUs to hand out; null: one per entry of <c>CUDA_VISIBLE_DEVICES</c>, none when it is unset.
        /// The ids given to runs are the entries of <c>CUDA_VISIBLE_DEVICES</c> when it lists enough of
        /// them (so a run sees the same device names as this process), else 0..NumGpus-1.
        /// </summary>
        public int? NumGpus { get; init; }

        /// <summary>Reads this process's environment (CUDA_VISIBLE_DEVICES, PATH, PATHEXT, ComSpec); replaced in tests.</summary>
        public Func<string, string?> EnvironmentReader { get; init; } = Environment.GetEnvironmentVariable;

        /// <summary>
        /// Where a run's log goes, by run id. The exit-code, pid and cancel files sit next to it (same
        /// name, other extensions). Wins over <see cref="LogDirectory"/>. The run store passes
        /// <c>$RAYRUNNER_HOME/runs/&lt;id&gt;/...</c> here.
        /// </summary>
        public Func<string, string>? LogPathFor { get; init; }

        /// <summary>A folder that gets one sub-folder per run (<c>&lt;id&gt;/run.log</c>); null: a fresh temp folder per backend.</summary>
        public string? LogDirectory { get; init; }

        /// <summary>Tests force the pipe launcher on Unix to cover the Windows path; null picks by platform.</summary>
        internal LaunchMode? ForceLaunchMode { get; init; }

        /// <summary>
        /// The lifetime of what uses the backend (the runner's, given by <see cref="RunnerHost"/>):
        /// when it ends, the backend stops watching runs, as on Dispose; runs go on. None by default.
        /// </summary>
        public System.Threading.CancellationToken Lifetime { get; init; }

        /// <summary>
        /// Tests stage the race of two launches of one run here: called with the run id after the
        /// backend decided to start it and just before its process starts. Null in the module.
        /// </summary>
        internal Action<string>? BeforeLaunch { get; init; }

        internal void Validate()
        {
            if (MaxConcurrent < 1)
                throw new ArgumentOutOfRangeException(nameof(MaxConcurrent), MaxConcurrent, "MaxConcurrent must be at least 1.");
            if (NumCpus.HasValue && NumCpus.Value < 1)
                throw new ArgumentOutOfRangeException(nameof(NumCpus), NumCpus, "NumCpus must be at least 1, or null to use the number of processors.");
            if (NumGpus.HasValue && NumGpus.Value < 0)
                throw new ArgumentOutOfRangeException(nameof(NumGpus), NumGpus, "NumGpus must be 0 or more, or null to count CUDA_VISIBLE_DEVICES.");
            if (EnvironmentReader == null)
                throw new ArgumentNullException(nameof(EnvironmentReader));
        }
    }

    /// <summary>How a child is tied to this process (see <see cref="ProcessLauncher"/> for the trade-off).</summary>
    internal enum LaunchMode
    {
        /// <summary>Unix: a fixed /bin/sh trampoline writes the output to the log and the exit code to a file; the child outlives the host.</summary>
        Detached,
        /// <summary>Windows: output through pipes that this process copies to the log; the child depends on the host.</summary>
        Piped,
    }
}
