using System;

namespace RayRunner.Core
{
    /// <summary>
    /// How much run output the store keeps. Only logs of finished runs are ever trimmed (a running
    /// run's log belongs to the backend writing it), and records are never touched: a run's spec,
    /// submission and result survive any trimming.
    /// </summary>
    public sealed class LogRetention
    {
        /// <summary>64 MiB per run and 2 GiB for the whole store.</summary>
        public static LogRetention Default { get; } = new LogRetention();

        /// <summary>Keeps everything (for tests and users who manage disk space themselves).</summary>
        public static LogRetention Unlimited { get; } = new LogRetention { MaxBytesPerRun = long.MaxValue, MaxTotalBytes = long.MaxValue };

        /// <summary>A finished run's log beyond this keeps only its last bytes (the end is where errors and results are).</summary>
        public long MaxBytesPerRun { get; init; } = 64L * 1024 * 1024;

        /// <summary>When all logs together pass this, the logs of the oldest finished runs are emptied first.</summary>
        public long MaxTotalBytes { get; init; } = 2L * 1024 * 1024 * 1024;

        internal void Validate()
        {
            if (MaxBytesPerRun < 1024)
                throw new ArgumentOutOfRangeException(nameof(MaxBytesPerRun), MaxBytesPerRun, "MaxBytesPerRun must be at least 1024 bytes.");
            if (MaxTotalBytes < MaxBytesPerRun)
                throw new ArgumentOutOfRangeException(nameof(MaxTotalBytes), MaxTotalBytes, "MaxTotalBytes must be at least MaxBytesPerRun.");
        }
    }
}
