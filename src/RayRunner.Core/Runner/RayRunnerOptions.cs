using System;

namespace RayRunner.Core
{
    /// <summary>How a runner schedules runs (tmgg's constructor arguments, plus what tmgg hard-codes).</summary>
    public sealed class RayRunnerOptions
    {
        /// <summary>At most this many runs are handed to the backend at once; the rest wait as <c>queued</c>.</summary>
        public int MaxConcurrent { get; init; } = 4;
        /// <summary>GPU fraction per run: 0.0 for CPU-only, 1.0 for one GPU each.</summary>
        public double NumGpusPerTask { get; init; } = 0.0;
        public int NumCpusPerTask { get; init; } = 1;
        /// <summary>The command template used when a run does not give its own, e.g. <c>python train.py {overrides}</c>.</summary>
        public string? Entrypoint { get; init; }
        /// <summary>Where runs are recorded; the default keeps them in memory only, as tmgg does.</summary>
        public IRunStore? Store { get; init; }

        /// <summary>
        /// The runner's lifetime when its composition made it first (<see cref="RunnerHost"/>), so the
        /// backend it built could be given the same token: the runner owns it and cancels it on
        /// Dispose. Null: the runner makes its own.
        /// </summary>
        internal System.Threading.CancellationTokenSource? Lifetime { get; init; }

        internal void Validate()
        {
            if (MaxConcurrent < 1)
                throw new ArgumentOutOfRangeException(nameof(MaxConcurrent), MaxConcurrent, "MaxConcurrent must be at least 1.");
            if (NumGpusPerTask < 0 || double.IsNaN(NumGpusPerTask) || double.IsInfinity(NumGpusPerTask))
                throw new ArgumentOutOfRangeException(nameof(NumGpusPerTask), NumGpusPerTask, "NumGpusPerTask must be 0 or more (0 for CPU-only, 1.0 for one GPU per run).");
            if (NumCpusPerTask < 0)
                throw new ArgumentOutOfRangeException(nameof(NumCpusPerTask), NumCpusPerTask, "NumCpusPerTask must be 0 or more.");
        }
    }

    /// <summary>Per-run choices for a spawn: the tmgg arguments (timeout) and RayRunner's own.</summary>
    public sealed class RunRequest
    {
        public int TimeoutSeconds { get; init; } = 3600;
        /// <summary>Overrides <see cref="RayRunnerOptions.Entrypoint"/> for this run.</summary>
        public string? Entrypoint { get; init; }
        public string? WorkingDirectory { get; init; }
        public string? SweepId { get; init; }
        /// <summary>A user-chosen run id (single runs only); see <see cref="RunIds.Pattern"/>.</summary>
        public string? RunId { get; init; }
        public System.Collections.Generic.IReadOnlyList<string> Tags { get; init; } = new string[0];
        /// <summary>What each run asks for beyond the connection's defaults; a config's own <c>_resources</c> wins over these.</summary>
        public RunResources? Resources { get; init; }
        public bool UseShell { get; init; }
        public System.Collections.Generic.IReadOnlyDictionary<string, string>? Environment { get; init; }
        /// <summary>How often, and after which ends, each run is tried again (<see cref="RetryPolicy.Create"/>); null: once.</summary>
        public RetryPolicy? Retry { get; init; }

        /// <summary>
        /// Sweeps only, with <see cref="SweepId"/>: resume that sweep as tmgg's coordinator does.
        /// Configs whose run in the store completed are skipped (their handles point at the
        /// completed runs), configs whose run is still queued or running are followed rather than
        /// started twice, and only missing configs and those whose run failed, timed out or was
        /// cancelled run again. Configs are matched by <see cref="ConfigHash"/>.
        /// </summary>
        public bool Resume { get; init; }

        internal static RunRequest Default { get; } = new RunRequest();
    }
}
