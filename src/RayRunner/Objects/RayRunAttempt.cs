using System;
using System.Collections.Generic;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// One attempt of a run (type name <c>RayRunner.RayRunAttempt</c>), as <c>Get-RayRun
    /// -IncludeAttempts</c> lists them: each its own backend submission, with its own status, error
    /// and log. Pipes into Get-RayRunLog (by RunId and Attempt) to read that attempt's log.
    /// </summary>
    public sealed class RayRunAttempt
    {
        public string RunId { get; internal set; } = "";
        /// <summary>1 for the first attempt.</summary>
        public int Attempt { get; internal set; } = 1;
        /// <summary>The id the backend knew this attempt by: the run id, then &lt;runid&gt;-a2, ...</summary>
        public string AttemptId { get; internal set; } = "";
        public string Status { get; internal set; } = RunStatus.Unknown;
        /// <summary>Why another attempt followed this one (failed, timeout, lost); null for the run's current or last attempt.</summary>
        public string? RetriedOn { get; internal set; }
        public DateTime? Started { get; internal set; }
        public DateTime? Completed { get; internal set; }
        public TimeSpan? Duration { get; internal set; }
        public string? ErrorMessage { get; internal set; }
        public string? SweepId { get; internal set; }
        /// <summary>True for the run's current (or final) attempt, whose end is the run's result.</summary>
        public bool IsLast { get; internal set; }

        public override string ToString() => AttemptId;

        /// <summary>Every attempt of the run, oldest first: the earlier ones as recorded, then the current one as the run stands.</summary>
        internal static IEnumerable<RayRunAttempt> Of(RunSnapshot s, RayRun run)
        {
            foreach (var earlier in s.PastAttempts)
            {
                var result = earlier.Result;
                yield return new RayRunAttempt
                {
                    RunId = s.RunId,
                    SweepId = s.SweepId,
                    Attempt = earlier.Attempt,
                    AttemptId = earlier.SubmissionId,
                    Status = RunStatus.Normalize(result.Status) ?? result.Status,
                    RetriedOn = earlier.RetriedOn,
                    Started = result.StartedAt?.LocalDateTime,
                    Completed = result.CompletedAt?.LocalDateTime,
                    Duration = result.StartedAt.HasValue && result.CompletedAt.HasValue && result.CompletedAt > result.StartedAt
                        ? result.CompletedAt - result.StartedAt : (TimeSpan?)null,
                    ErrorMessage = result.ErrorMessage,
                };
            }
            yield return new RayRunAttempt
            {
                RunId = s.RunId,
                SweepId = s.SweepId,
                Attempt = s.Attempt,
                AttemptId = RunIds.ForAttempt(s.RunId, s.Attempt),
                Status = run.Status,
                Started = run.Started,
                Completed = run.Completed,
                Duration = run.Duration,
                ErrorMessage = run.ErrorMessage,
                IsLast = true,
            };
        }

        internal PSObject ToPSObject() => PSValues.WithTypeName(this, TypeNames.RayRunAttempt);
    }
}
