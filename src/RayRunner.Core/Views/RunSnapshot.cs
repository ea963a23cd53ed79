using System;
using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>One run as seen at one moment.</summary>
    public sealed class RunSnapshot
    {
        public string RunId { get; init; } = "";
        public string? SweepId { get; init; }
        public string Status { get => _status; init => _status = value; }
        string _status = RunStatus.Unknown;
        public string Backend { get; init; } = "";
        public string Entrypoint { get; init; } = "";
        /// <summary>The config as given. For a run listed from its summary, read from run.json the first time it is touched.</summary>
        public IReadOnlyDictionary<string, object?> Config { get => _config ??= _deferred?.Config ?? NoConfig; init => _config = value; }
        /// <summary>
        /// The config's identity as the store records it (<see cref="RunSpecRecord.ConfigHash"/>): runs
        /// of one sweep with the same hash are attempts at one config. Empty for a damaged record.
        /// </summary>
        public string ConfigHash { get; init; } = "";
        public DateTimeOffset SubmittedAt { get; init; }
        public DateTimeOffset? StartedAt { get; init; }
        public DateTimeOffset? CompletedAt { get; init; }
        /// <summary>The result once final. For a run listed from its summary, read from run.json the first time it is touched.</summary>
        public TaskOutput? Output { get => _deferred != null && !_outputSet ? SetOutput(_deferred.Output) : _output; init { _output = value; _outputSet = true; } }
        /// <summary>The backend reference (read from run.json on demand, as <see cref="Output"/>).</summary>
        public TaskRef? ObjectRef { get => _deferred != null && !_objectRefSet ? SetObjectRef(_deferred.ObjectRef) : _objectRef; init { _objectRef = value; _objectRefSet = true; } }
        /// <summary>The result's error message, what is wrong with a damaged record, or else the <see cref="StatusNote"/>; null when none.</summary>
        public string? ErrorMessage => (_deferred != null ? _deferred.ErrorMessage : Output?.ErrorMessage ?? Damage) ?? StatusNote;
        /// <summary>The tags the run was started with (RunRequest.Tags, -Tag); empty when none.</summary>
        public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();
        /// <summary>
        /// A queued run whose owner process is gone (<see cref="RunRecord.IsOrphan"/>): nothing will
        /// start it until a process adopts it (Resume-RaySweep, or a wait on it). Never true for a
        /// run this process tracks.
        /// </summary>
        public bool IsOrphan { get; init; }
        /// <summary>For a <see cref="RunStatus.Damaged"/> run: what is wrong with its record and what to do. Null otherwise.</summary>
        public string? Damage { get; init; }
        /// <summary>The current (or last) attempt: 1 unless the run was retried.</summary>
        public int Attempt { get; init; } = 1;
        /// <summary>The attempts that ended before the current one, oldest first; empty when none.</summary>
        public IReadOnlyList<AttemptRecord> PastAttempts { get => _pastAttempts ??= _deferred?.PastAttempts ?? Array.Empty<AttemptRecord>(); init => _pastAttempts = value; }
        /// <summary>How the run is retried; null when it is tried once.</summary>
        public RetryPolicy? Retry { get => _deferred != null && !_retrySet ? SetRetry(_deferred.Retry) : _retry; init { _retry = value; _retrySet = true; } }
        /// <summary>Why the status is what it is when the view could not tell better (e.g. its Ray head did not answer); null otherwise.</summary>
        public string? StatusNote { get => _statusNote; init => _statusNote = value; }
        string? _statusNote;
        /// <summary>
        /// What the run asked the backend for (CPUs, GPUs, memory, custom resources, runtime_env); null
        /// when not recorded (a damaged record). Read from run.json on demand, as <see cref="Config"/>.
        /// </summary>
        public TaskOptions? Options { get => _deferred != null && !_optionsSet ? SetOptions(_deferred.Options) : _options; init { _options = value; _optionsSet = true; } }

        static readonly IReadOnlyDictionary<string, object?> NoConfig = new Dictionary<string, object?>();
        /// <summary>Where the parts a summary lacks come from; null for a snapshot made whole.</summary>
        DeferredRecord? _deferred;
        IReadOnlyDictionary<string, object?>? _config;
        IReadOnlyList<AttemptRecord>? _pastAttempts;
        TaskOutput? _output;
        bool _outputSet;
        TaskRef? _objectRef;
        bool _objectRefSet;
        RetryPolicy? _retry;
        bool _retrySet;
        TaskOptions? _options;
        bool _optionsSet;

        TaskOutput? SetOutput(TaskOutput? value) { _output = value; _outputSet = true; return value; }
        TaskRef? SetObjectRef(TaskRef? value) { _objectRef = value; _objectRefSet = true; return value; }
        RetryPolicy? SetRetry(RetryPolicy? value) { _retry = value; _retrySet = true; return value; }
        TaskOptions? SetOptions(TaskOptions? value) { _options = value; _optionsSet = true; return value; }

        /// <summary>
        /// A run as the listing index summarises it: what a listing shows comes from the summary; the
        /// config, output, backend reference, past attempts and retry policy are read from run.json
        /// (through <paramref name="load"/>, once) only when touched.
        /// </summary>
        public static RunSnapshot FromSummary(RunSummary summary, Func<RunSummary, RunRecord?> load)
        {
            if (summary == null) throw new ArgumentNullException(nameof(summary));
            return new RunSnapshot
            {
                RunId = summary.RunId,
                SweepId = summary.SweepId,
                Status = summary.IsFinal ? RunStatus.Normalize(summary.ResultStatus) ?? summary.Status : summary.Status,
                Backend = summary.Backend,
                Entrypoint = summary.Entrypoint,
                ConfigHash = summary.ConfigHash,
                SubmittedAt = summary.CreatedAt,
                StartedAt = summary.StartedAt,
                CompletedAt = summary.CompletedAt,
                Tags = summary.Tags ?? Array.Empty<string>(),
                IsOrphan = summary.IsOrphan,
                Attempt = summary.Attempt,
                _deferred = new DeferredRecord(summary, load ?? throw new ArgumentNullException(nameof(load))),
            };
        }

        /// <summary>A run as its record in the store says it stands (no backend asked).</summary>
        public static RunSnapshot FromRecord(RunRecord record) => new RunSnapshot
        {
            RunId = record.RunId,
            SweepId = record.SweepId,
            Status = record.Result != null ? RunStatus.Normalize(record.Result.Status) ?? record.Status : record.Status,
            Backend = record.Spec.Backend,
            Entrypoint = record.Spec.Entrypoint,
            Config = record.Spec.Config,
            // Recorded since the store's first format; computed only for a record that lacks it.
            ConfigHash = record.Spec.ConfigHash.Length > 0 ? record.Spec.ConfigHash : Core.ConfigHash.Compute(record.Spec.Config),
            SubmittedAt = record.Spec.CreatedAt,
            StartedAt = record.Result?.StartedAt ?? record.Submission?.SubmittedAt,
            CompletedAt = record.Result?.CompletedAt,
            Output = record.Result,
            ObjectRef = record.ToTaskRef(),
            Tags = record.Spec.Input?.AdditionalTags ?? Array.Empty<string>(),
            IsOrphan = record.IsOrphan,
            Attempt = record.Attempt,
            PastAttempts = record.Attempts ?? Array.Empty<AttemptRecord>(),
            Retry = record.Spec.Retry,
            Options = record.Spec.Options,
        };

        /// <summary>
        /// A run whose record cannot be read: only its id and when the record was last written are
        /// known. Listed (status <c>damaged</c>) so it does not vanish; it can be removed.
        /// </summary>
        public static RunSnapshot FromDamage(StoreProblem problem) => new RunSnapshot
        {
            RunId = problem.RunId ?? "",
            Status = RunStatus.Damaged,
            SubmittedAt = WrittenAt(problem.Path),
            Damage = $"The record {problem.Path} {problem.Message}",
        };

        static DateTimeOffset WrittenAt(string path)
        {
            try { return new DateTimeOffset(System.IO.File.GetLastWriteTimeUtc(path), TimeSpan.Zero); }
            catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException) { return DateTimeOffset.MinValue; }
        }

        /// <summary>The same run with another status (a fresher answer than the snapshot's), and why when <paramref name="note"/> says.</summary>
        public RunSnapshot WithStatus(string status, string? note = null)
        {
            var copy = (RunSnapshot)MemberwiseClone();
            copy._status = status; // the parts not read yet stay deferred, shared with this snapshot's source
            copy._statusNote = note;
            return copy;
        }

        /// <summary>The order every listing uses: oldest first, then by id.</summary>
        public static int Compare(RunSnapshot a, RunSnapshot b)
        {
            var byTime = a.SubmittedAt.CompareTo(b.SubmittedAt);
            return byTime != 0 ? byTime : string.CompareOrdinal(a.RunId, b.RunId);
        }
    }
}
