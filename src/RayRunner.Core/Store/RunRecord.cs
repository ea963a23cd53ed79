using System;
using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace RayRunner.Core
{
    /// <summary>
    /// One run as recorded in the store (the file <c>runs/&lt;id&gt;/run.json</c>): what was asked
    /// (<see cref="Spec"/>), who holds it while it waits (<see cref="Owner"/>) or hands it over
    /// (<see cref="Claim"/>), where it went (<see cref="Submission"/>) and how it ended
    /// (<see cref="Result"/>). A record with a result is final and is never overwritten.
    /// </summary>
    public sealed class RunRecord
    {
        public const int CurrentFormat = 1;

        /// <summary>The layout version of this record, for readers of older or newer stores.</summary>
        public int Format { get; init; } = CurrentFormat;
        public string RunId { get; init; } = "";
        /// <summary>The last status recorded: queued, pending, running, or the result's own status.</summary>
        public string Status { get; init; } = RunStatus.Queued;
        public RunSpecRecord Spec { get; init; } = new RunSpecRecord();

        /// <summary>
        /// The process that holds the run in its queue, waiting for a slot. Null once submitted, or
        /// when its owner let it go (a disposed runner). A queued run whose owner is gone is an
        /// orphan that any process may adopt.
        /// </summary>
        public ProcessIdentity? Owner { get; init; }

        /// <summary>
        /// Set while a process hands the run to the backend (between "recorded" and "submitted").
        /// A claim left by a dead process means the run may or may not have reached the backend.
        /// </summary>
        public DispatchClaim? Claim { get; init; }

        public SubmissionRecord? Submission { get; init; }
        public TaskOutput? Result { get; init; }
        public DateTimeOffset UpdatedAt { get; init; }

        /// <summary>
        /// Which attempt <see cref="Submission"/> and <see cref="Result"/> belong to (1 for the first).
        /// Raised, with the attempt that ended moved to <see cref="Attempts"/>, before the next
        /// attempt is handed over. Records from before retries have none and read as 1.
        /// </summary>
        public int Attempt { get; init; } = 1;

        /// <summary>The earlier attempts, oldest first, each with its submission and how it ended; null when there were none.</summary>
        public IReadOnlyList<AttemptRecord>? Attempts { get; init; }

        [JsonIgnore] public bool IsFinal => Result != null;
        [JsonIgnore] public bool IsSubmitted => Submission != null;
        [JsonIgnore] public string? SweepId => Spec.SweepId;
        /// <summary>The id the backend knows the current attempt by (<see cref="RunIds.ForAttempt"/>).</summary>
        [JsonIgnore] public string SubmissionId => RunIds.ForAttempt(RunId, Attempt);

        /// <summary>
        /// A queued run nobody holds: its owner process is gone (or let it go) and nobody alive is
        /// handing it over. Any process may adopt it.
        /// </summary>
        [JsonIgnore]
        public bool IsOrphan =>
            !IsFinal && !IsSubmitted &&
            (Owner == null || !Owner.IsAlive) &&
            (Claim == null || !Claim.By.IsAlive);

        /// <summary>The backend reference to re-attach with: the recorded locator, or a bare one before submission.</summary>
        public TaskRef ToTaskRef() =>
            new TaskRef(Submission?.Backend ?? Spec.Backend, SubmissionId, Submission?.Locator);

        /// <summary>
        /// A copy with the given parts replaced. Pass <paramref name="clearClaim"/>,
        /// <paramref name="clearOwner"/> or <paramref name="clearSubmission"/> to drop them (the last
        /// when a retry's next attempt is recorded: the ended attempt's submission moves to the attempts).
        /// </summary>
        public RunRecord With(
            string? status = null, ProcessIdentity? owner = null, bool clearOwner = false,
            DispatchClaim? claim = null, bool clearClaim = false,
            SubmissionRecord? submission = null, TaskOutput? result = null, bool clearSubmission = false,
            int? attempt = null, IReadOnlyList<AttemptRecord>? attempts = null) => new RunRecord
            {
                Attempt = attempt ?? Attempt,
                Attempts = attempts ?? Attempts,
                Format = Format,
                RunId = RunId,
                Status = status ?? Status,
                Spec = Spec,
                Owner = clearOwner ? null : owner ?? Owner,
                Claim = clearClaim ? null : claim ?? Claim,
                Submission = clearSubmission ? null : submission ?? Submission,
                Result = result ?? Result,
                UpdatedAt = DateTimeOffset.UtcNow,
            };
    }

    /// <summary>One attempt of a run that has ended and was followed by another: where it ran and how it ended.</summary>
    public sealed class AttemptRecord
    {
        /// <summary>1 for the first attempt.</summary>
        public int Attempt { get; init; } = 1;
        /// <summary>The id the backend knew it by (<see cref="RunIds.ForAttempt"/>).</summary>
        public string SubmissionId { get; init; } = "";
        /// <summary>Where the backend put it (null when it never got that far).</summary>
        public SubmissionRecord? Submission { get; init; }
        /// <summary>How it ended: status, error, metrics, times.</summary>
        public TaskOutput Result { get; init; } = new TaskOutput();
        /// <summary>Why another attempt followed: one of <see cref="RetryPolicy.Reasons"/>.</summary>
        public string RetriedOn { get; init; } = "";

        /// <summary>The backend reference of this attempt, for its log.</summary>
        public TaskRef ToTaskRef(string backend) => new TaskRef(Submission?.Backend ?? backend, SubmissionId, Submission?.Locator);
    }

    /// <summary>What was asked for a run: everything needed to dispatch it again from another process.</summary>
    public sealed class RunSpecRecord
    {
        public string? SweepId { get; init; }
        /// <summary><see cref="ConfigHash.Compute"/> of the config: resuming a sweep matches runs by it.</summary>
        public string ConfigHash { get; init; } = "";
        /// <summary>The config as the caller gave it (a run_id key included), for the result.</summary>
        public IReadOnlyDictionary<string, object?> Config { get; init; } = new Dictionary<string, object?>();
        /// <summary>What the experiment receives (the config without run_id, timeout, tags).</summary>
        public TaskInput? Input { get; init; }
        public string Entrypoint { get; init; } = "";
        public string? WorkingDirectory { get; init; }
        public bool UseShell { get; init; }
        /// <summary>Extra environment variables for the command. The store is readable by its user only.</summary>
        public IReadOnlyDictionary<string, string>? Environment { get; init; }
        public TaskOptions? Options { get; init; }
        /// <summary>The backend the run was made for ("ray", "local") and where it was (dashboard URL).</summary>
        public string Backend { get; init; } = "";
        public string Address { get; init; } = "";
        public DateTimeOffset CreatedAt { get; init; }
        /// <summary>How the run is retried (-MaxRetries, -RetryOn); null when it is tried once.</summary>
        public RetryPolicy? Retry { get; init; }
    }

    /// <summary>A process handing a run to the backend right now.</summary>
    public sealed class DispatchClaim
    {
        public ProcessIdentity By { get; init; } = new ProcessIdentity();
        public DateTimeOffset At { get; init; }
    }

    /// <summary>Where the backend put the run: enough for any process to find it again.</summary>
    public sealed class SubmissionRecord
    {
        public string Backend { get; init; } = "";
        /// <summary>The backend's <see cref="TaskRef.Locator"/>: a Ray submission id, a local pid and start time.</summary>
        public IReadOnlyDictionary<string, string>? Locator { get; init; }
        public DateTimeOffset SubmittedAt { get; init; }
    }

    /// <summary>Something in the store that could not be read: reported, skipped, never fatal.</summary>
    public sealed class StoreProblem
    {
        public StoreProblem(string? runId, string path, string message)
        {
            RunId = runId;
            Path = path;
            Message = message;
        }

        public string? RunId { get; }
        public string Path { get; }
        public string Message { get; }
        public override string ToString() => $"{Path}: {Message}";
    }
}
