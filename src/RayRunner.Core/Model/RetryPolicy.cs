using System;
using System.Collections.Generic;
using System.Linq;

namespace RayRunner.Core
{
    /// <summary>
    /// How often a run is tried again, and after which ends. Each try is an attempt of the same run:
    /// its own backend submission (see <see cref="RunIds.ForAttempt"/>), recorded in the store before
    /// it is submitted; the run's result is its last attempt's.
    /// </summary>
    public sealed class RetryPolicy
    {
        /// <summary>The run failed (the experiment exited non-zero, reported failure, or its result could not be read).</summary>
        public const string OnFailed = "failed";
        /// <summary>The attempt ran past the run's timeout and was stopped.</summary>
        public const string OnTimeout = "timeout";
        /// <summary>The backend no longer knows the attempt (a Ray head that forgot the job).</summary>
        public const string OnLost = "lost";

        /// <summary>Every reason a run may be retried for; also the default of <see cref="RetryOn"/>.</summary>
        public static IReadOnlyList<string> Reasons { get; } = new[] { OnFailed, OnTimeout, OnLost };

        /// <summary>The most retries a run may ask for: a bound against a typo that would run a failing experiment for days.</summary>
        public const int MaxAllowedRetries = 100;

        /// <summary>Retries after the first attempt (0: the run is tried once, as before).</summary>
        public int MaxRetries { get; init; }

        /// <summary>Which ends are retried: any of <see cref="Reasons"/>. A cancel is never retried.</summary>
        public IReadOnlyList<string> RetryOn { get; init; } = Reasons;

        /// <summary>
        /// A checked policy: <paramref name="maxRetries"/> from 0 to <see cref="MaxAllowedRetries"/>,
        /// <paramref name="retryOn"/> null (every reason) or a non-empty set of <see cref="Reasons"/>.
        /// Null when nothing is retried, so records of runs without retries stay as they were.
        /// </summary>
        public static RetryPolicy? Create(int maxRetries, IEnumerable<string>? retryOn)
        {
            if (maxRetries < 0 || maxRetries > MaxAllowedRetries)
                throw new ArgumentOutOfRangeException(nameof(maxRetries), maxRetries, $"MaxRetries must be from 0 (no retries) to {MaxAllowedRetries}.");
            string[]? reasons = null;
            if (retryOn != null)
            {
                reasons = retryOn.Select(r => (r ?? "").Trim().ToLowerInvariant()).Distinct().ToArray();
                var unknown = reasons.Where(r => !Reasons.Contains(r)).ToArray();
                if (unknown.Length > 0)
                    throw new ArgumentException($"RetryOn holds '{string.Join("', '", unknown)}', which is not a reason to retry. Use any of: {string.Join(", ", Reasons)}.", "retryOn");
                if (reasons.Length == 0)
                    throw new ArgumentException($"RetryOn is empty: name at least one of {string.Join(", ", Reasons)}, or leave it out to retry on all of them.", "retryOn");
            }
            if (maxRetries == 0) return null;
            return new RetryPolicy { MaxRetries = maxRetries, RetryOn = reasons ?? Reasons };
        }

        /// <summary>
        /// Why an attempt that ended with <paramref name="output"/> is worth another one (one of
        /// <see cref="Reasons"/>), or null when its end stands (completed, cancelled, or a reason not in <see cref="RetryOn"/>).
        /// </summary>
        public string? ReasonToRetry(TaskOutput output, bool lost)
        {
            var reason = lost ? OnLost : RunStatus.Normalize(output.Status) switch
            {
                RunStatus.Failed => OnFailed,
                RunStatus.Timeout => OnTimeout,
                _ => null,
            };
            return reason != null && RetryOn.Contains(reason) ? reason : null;
        }

        /// <summary>Is another attempt allowed after attempt number <paramref name="attempt"/> (1-based)?</summary>
        public bool AllowsAttemptAfter(int attempt) => attempt <= MaxRetries;

        /// <summary>
        /// Why attempt <paramref name="attempt"/>, ended with <paramref name="output"/>, is followed by
        /// another under <paramref name="policy"/>; null when that end is the run's (no policy, no
        /// retries left, or an end not retried).
        /// </summary>
        public static string? ReasonToRetryAfter(RetryPolicy? policy, int attempt, TaskOutput output, bool lost) =>
            policy != null && policy.AllowsAttemptAfter(attempt) ? policy.ReasonToRetry(output, lost) : null;
    }
}
