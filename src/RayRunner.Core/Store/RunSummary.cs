using System;
using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace RayRunner.Core
{
    /// <summary>
    /// What a listing needs to know of one run, without its config, output or past attempts: one
    /// line of the listing index (<c>index.jsonl</c>, format 2). The whole record stays in
    /// <c>run.json</c> and is read only when a caller touches a part the summary lacks
    /// (<see cref="RunSnapshot.Config"/>, <see cref="RunSnapshot.Output"/>, ...).
    /// </summary>
    /// <remarks>
    /// Kept small on purpose: parsing 10,000 full records (configs twice, submissions, results) was
    /// what made a new session's listing take a second (BENCHMARKS.md, "(d) listing").
    /// </remarks>
    public sealed class RunSummary
    {
        /// <summary>An error message longer than this (or of more than one line) is cut in the summary; the record has it whole.</summary>
        public const int MaxErrorLength = 200;

        public string RunId { get; init; } = "";
        /// <summary>Size and write time of run.json when this summary was taken (see <see cref="RunIndex.StampOf"/>).</summary>
        public string Stamp { get; init; } = "";
        /// <summary>The record's status: queued, pending, running, or the result's own status.</summary>
        public string Status { get; init; } = RunStatus.Queued;
        /// <summary>The result's status when the run has ended; null before.</summary>
        public string? ResultStatus { get; init; }
        public string? SweepId { get; init; }
        public string ConfigHash { get; init; } = "";
        public string Backend { get; init; } = "";
        public string Entrypoint { get; init; } = "";
        public DateTimeOffset CreatedAt { get; init; }
        public DateTimeOffset? StartedAt { get; init; }
        public DateTimeOffset? CompletedAt { get; init; }
        /// <summary>The first line of the result's error message, at most <see cref="MaxErrorLength"/> characters.</summary>
        public string? Error { get; init; }
        /// <summary>Whether <see cref="Error"/> is shorter than the recorded message.</summary>
        public bool ErrorCut { get; init; }
        public IReadOnlyList<string>? Tags { get; init; }
        /// <summary>As <see cref="RunRecord.Owner"/>: needed to tell an orphan.</summary>
        public ProcessIdentity? Owner { get; init; }
        /// <summary>As <see cref="RunRecord.Claim"/>: needed to tell an orphan.</summary>
        public DispatchClaim? Claim { get; init; }
        public bool Submitted { get; init; }
        public int Attempt { get; init; } = 1;

        /// <summary>Whether the run has a result (a final record).</summary>
        [JsonIgnore] public bool IsFinal => ResultStatus != null;

        /// <summary>As <see cref="RunRecord.IsOrphan"/>, from the summary alone.</summary>
        [JsonIgnore]
        public bool IsOrphan =>
            !IsFinal && !Submitted &&
            (Owner == null || !Owner.IsAlive) &&
            (Claim == null || !Claim.By.IsAlive);

        /// <summary>The summary of a record whose run.json has <paramref name="stamp"/>.</summary>
        public static RunSummary Of(RunRecord record, string stamp)
        {
            if (record == null) throw new ArgumentNullException(nameof(record));
            var error = record.Result?.ErrorMessage;
            var shortError = error == null ? null : FirstLine(error);
            return new RunSummary
            {
                RunId = record.RunId,
                Stamp = stamp ?? "",
                Status = record.Status,
                // A result whose status is missing still makes the record final.
                ResultStatus = record.Result == null ? null : record.Result.Status ?? "",
                SweepId = record.SweepId,
                ConfigHash = record.Spec.ConfigHash,
                Backend = record.Spec.Backend,
                Entrypoint = record.Spec.Entrypoint,
                CreatedAt = record.Spec.CreatedAt,
                StartedAt = record.Result?.StartedAt ?? record.Submission?.SubmittedAt,
                CompletedAt = record.Result?.CompletedAt,
                Error = shortError,
                ErrorCut = error != null && shortError!.Length != error.Length,
                Tags = record.Spec.Input?.AdditionalTags is { Count: > 0 } tags ? tags : null,
                Owner = record.Owner,
                Claim = record.Claim,
                Submitted = record.IsSubmitted,
                Attempt = record.Attempt,
            };
        }

        static string FirstLine(string text)
        {
            var nl = text.IndexOfAny(new[] { '\r', '\n' });
            var line = nl < 0 ? text : text.Substring(0, nl);
            return line.Length <= MaxErrorLength ? line : line.Substring(0, MaxErrorLength);
        }
    }
}
