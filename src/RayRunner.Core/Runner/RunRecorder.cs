using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace RayRunner.Core
{
    /// <summary>
    /// Owns every write the runner makes to the run store, and every decision that must be made once
    /// across processes (claim a run for dispatch, adopt an orphan, record a cancel): each is made inside the store lock. No other collaborator saves a record.
    /// </summary>
    internal sealed class RunRecorder
    {
        readonly RunnerContext _ctx;

        public RunRecorder(RunnerContext ctx) => _ctx = ctx;

        IRunStore Store => _ctx.Store;

        /// <summary>Tracks a new run and records it as queued, held by this process: from here on it cannot be lost.</summary>
        public void Register(TrackedRun run)
        {
            if (!_ctx.Runs.TryAdd(run))
                throw new ArgumentException($"A run with id '{run.RunId}' is already tracked. Choose another id, or collect or remove that run first.", nameof(RunRequest.RunId));
            try
            {
                Store.Save(Record(run, RunStatus.Queued));
            }
            catch
            {
                _ctx.Runs.Remove(run.RunId);
                throw;
            }
        }

        /// <summary>Undoes <see cref="Register"/> for a run that was never launched.</summary>
        public void Unregister(TrackedRun run)
        {
            _ctx.Runs.Remove(run.RunId);
            DeleteQuietly(run.RunId);
        }

        /// <summary>Records that the backend has the run (pending); quietly, as nobody can be told of a failure.</summary>
        public void RecordSubmitted(TrackedRun run) => SaveQuietly(Record(run, RunStatus.Pending));

        /// <summary>
        /// Records a run's outcome and returns the outcome to report: if another process recorded
        /// the run's end first, that recorded outcome wins, so every process tells the same story.
        /// </summary>
        public TaskOutput RecordOutcome(TrackedRun run, TaskOutput output)
        {
            var final = Finalize(output, run.RunId, run.DispatchedAt);
            var stored = SaveQuietly(Record(run, final.Status, final));
            if (stored?.Result != null && stored.IsSubmitted) TellResultStored(stored);
            return stored?.Result ?? final;
        }

        /// <summary>Deletes a run's record (the caller is told if that fails).</summary>
        public void Delete(string runId) => Store.Delete(runId);

        /// <summary>Deletes a run's record, best effort (a run that was never started).</summary>
        public void DeleteQuietly(string runId)
        {
            try { Store.Delete(runId); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
        }

        // ----------------------------------------------------------------------------------
        // Retries: the next attempt is recorded before it is handed over
        // ----------------------------------------------------------------------------------

        /// <summary>
        /// Records that attempt <paramref name="attempt"/> ended with <paramref name="output"/> and
        /// that attempt <paramref name="attempt"/> + 1 follows: the ended attempt moves to the
        /// record's attempts, the run is queued again (held here when <paramref name="holdHere"/>,
        /// else an orphan any process may resume), with no claim and no submission. Made under the
        /// store lock, so of several processes that saw the same attempt end, one records the retry;
        /// the others find the record moved on (<see cref="RetryDecision.MovedOn"/>) and follow it.
        /// </summary>
        public RetryDecision RecordRetry(string runId, int attempt, TaskOutput output, DateTimeOffset? dispatchedAt, string reason, bool holdHere, out RunRecord? next)
        {
            RunRecord? saved = null;
            RetryDecision decision;
            try
            {
                decision = Store.WithLock(() =>
                {
                    var record = Store.TryLoad(runId);
                    if (record == null) return RetryDecision.OutcomeStands;
                    if (record.IsFinal || record.Attempt != attempt) return RetryDecision.MovedOn;
                    var ended = new AttemptRecord
                    {
                        Attempt = attempt,
                        SubmissionId = record.SubmissionId,
                        Submission = record.Submission,
                        Result = Finalize(output, runId, dispatchedAt ?? record.Submission?.SubmittedAt),
                        RetriedOn = reason,
                    };
                    var attempts = (record.Attempts ?? Array.Empty<AttemptRecord>()).Concat(new[] { ended }).ToArray();
                    saved = Store.Save(record.With(
                        status: RunStatus.Queued, owner: holdHere ? _ctx.Me : null, clearOwner: !holdHere, clearClaim: true,
                        clearSubmission: true, attempt: attempt + 1, attempts: attempts));
                    return RetryDecision.Retrying;
                });
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                // The next attempt could not be recorded, so it must not start: the run ends as this attempt did.
                decision = RetryDecision.OutcomeStands;
            }
            next = saved;
            if (decision == RetryDecision.Retrying && saved?.Attempts is { Count: > 0 } kept) TellResultStored(kept[kept.Count - 1]);
            return decision;
        }

        // ----------------------------------------------------------------------------------
        // Claims: exactly-once hand-over
        // ----------------------------------------------------------------------------------

        public ClaimDecision ClaimForDispatch(string runId) => Store.WithLock(() =>
        {
            var record = Store.TryLoad(runId);
            if (record == null) return new ClaimDecision(ClaimKind.Missing, null);
            if (record.IsFinal) return new ClaimDecision(ClaimKind.Final, record);
            if (record.IsSubmitted) return new ClaimDecision(ClaimKind.Submitted, record);
            if (record.Claim != null && !record.Claim.By.Equals(_ctx.Me) && record.Claim.By.IsAlive)
                return new ClaimDecision(ClaimKind.Elsewhere, record);
            if (record.Owner != null && !record.Owner.Equals(_ctx.Me) && record.Owner.IsAlive)
                return new ClaimDecision(ClaimKind.Elsewhere, record);
            Store.Save(record.With(owner: _ctx.Me, claim: new DispatchClaim { By = _ctx.Me, At = DateTimeOffset.UtcNow }));
            return new ClaimDecision(ClaimKind.Claimed, record, staleClaim: record.Claim != null);
        });

        /// <summary>Makes this process the owner of an orphaned queued run; null when it is not (or no longer) one.</summary>
        public RunRecord? TryAdopt(string runId) => Store.WithLock(() =>
        {
            var record = Store.TryLoad(runId);
            // The dead process's claim stays: it tells the dispatcher to ask the backend first.
            return record != null && record.IsOrphan ? Store.Save(record.With(owner: _ctx.Me)) : null;
        });

        /// <summary>Lets go of a queued run (this runner is going away) so any process can resume it.</summary>
        public void Release(TrackedRun run)
        {
            try
            {
                Store.WithLock(() =>
                {
                    var record = Store.TryLoad(run.RunId);
                    if (record != null && !record.IsFinal && !record.IsSubmitted && _ctx.Me.Equals(record.Owner))
                        Store.Save(record.With(clearOwner: true));
                    return 0;
                });
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                // Still recorded as held by this process: it becomes an orphan when the process exits.
            }
        }

        // ----------------------------------------------------------------------------------
        // Runs known only from the store
        // ----------------------------------------------------------------------------------

        /// <summary>
        /// Records a queued run of the store as cancelled; null when it is final, submitted or gone
        /// (look again), with <paramref name="busy"/> set when a live process is handing it over.
        /// </summary>
        public RunRecord? TryCancelQueued(string runId, out bool busy)
        {
            var handingOver = false;
            var cancelled = Store.WithLock(() =>
            {
                var now = Store.TryLoad(runId);
                if (now == null || now.IsFinal || now.IsSubmitted) return null;
                if (now.Claim != null && now.Claim.By.IsAlive) { handingOver = true; return null; }
                var output = Finalize(TaskOutput.Failure(runId, RunStatus.Cancelled, "The run was cancelled before it started."), runId, null);
                return Store.Save(now.With(status: RunStatus.Cancelled, result: output, clearOwner: true, clearClaim: true));
            });
            busy = handingOver;
            return cancelled;
        }

        /// <summary>Records the end of a submitted run seen by this process (a cancel, or a status look), so it is never lost nor fetched twice.</summary>
        public RunRecord? RecordEnded(RunRecord record, TaskOutput output)
        {
            var final = Finalize(output, record.RunId, record.Submission?.SubmittedAt);
            var stored = SaveQuietly(record.With(status: final.Status, result: final, clearOwner: true, clearClaim: true));
            if (stored != null && stored.IsSubmitted) TellResultStored(stored);
            return stored;
        }

        /// <summary>The result is safely in the store: the backend may drop its own copy (Ray deletes the job). Never fails the caller.</summary>
        void TellResultStored(RunRecord stored) => TellResultStored(stored.Submission!, stored.ToTaskRef());

        /// <summary>
        /// The same for an attempt that ended and was retried: its outcome is in the record's
        /// attempts, so its job may go too (else every retried attempt's job stayed on the head).
        /// </summary>
        void TellResultStored(AttemptRecord ended)
        {
            if (ended.Submission != null) TellResultStored(ended.Submission, ended.ToTaskRef(ended.Submission.Backend));
        }

        void TellResultStored(SubmissionRecord submission, TaskRef reference)
        {
            if (_ctx.Backend.Abilities.ResultStored is not { } tell || submission.Backend != _ctx.Backend.Name) return;
            try
            {
                tell(reference);
            }
            catch (Exception)
            {
                // Dropping the backend's copy is housekeeping; the run's outcome stands.
            }
        }

        /// <summary>Fills the fields RayRunner observes: status normalized, start, end and duration.</summary>
        public static TaskOutput Finalize(TaskOutput output, string runId, DateTimeOffset? dispatchedAt)
        {
            var now = DateTimeOffset.UtcNow;
            var started = output.StartedAt ?? dispatchedAt;
            var completed = output.CompletedAt ?? now;
            var duration = output.DurationSeconds > 0 ? output.DurationSeconds
                : started.HasValue ? Math.Max(0, (completed - started.Value).TotalSeconds) : 0;
            var status = RunStatus.Normalize(output.Status) ?? RunStatus.Completed;
            return output.With(runId: runId, status: status, startedAt: started, completedAt: completed, durationSeconds: duration);
        }

        /// <summary>
        /// Saves a record on a path where the caller cannot be told of a failure (a monitor, a
        /// background dispatch). A disk error must not leave a run hanging: the outcome is still
        /// reported in this process, and the record, left behind, makes a later process ask the
        /// backend again. Returns null when the save failed.
        /// </summary>
        RunRecord? SaveQuietly(RunRecord record)
        {
            try
            {
                return Store.Save(record);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>The run as it stands, for the store.</summary>
        RunRecord Record(TrackedRun run, string status, TaskOutput? result = null) => new RunRecord
        {
            RunId = run.RunId,
            Attempt = run.Attempt,
            Attempts = run.PastAttempts,
            Status = status,
            Spec = run.SpecRecord,
            // A run not yet handed over is held by this process's queue; say so, so that others
            // leave it alone while this process lives and adopt it once it is gone.
            Owner = run.DispatchedAt == null && result == null ? _ctx.Me : null,
            Submission = run.DispatchedAt == null ? null : new SubmissionRecord
            {
                Backend = run.Ref.Backend,
                Locator = run.Ref.Locator,
                SubmittedAt = run.DispatchedAt.Value,
            },
            Result = result,
            UpdatedAt = DateTimeOffset.UtcNow,
        };

        static bool SameLocator(IReadOnlyDictionary<string, string>? a, IReadOnlyDictionary<string, string>? b)
        {
            a ??= new Dictionary<string, string>();
            b ??= new Dictionary<string, string>();
            return a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
        }
    }

    internal enum ClaimKind { Claimed, Final, Submitted, Elsewhere, Missing }

    internal readonly struct ClaimDecision
    {
        public ClaimDecision(ClaimKind kind, RunRecord? record, bool staleClaim = false)
        {
            Kind = kind;
            Record = record;
            StaleClaim = staleClaim;
        }

        public ClaimKind Kind { get; }
        public RunRecord? Record { get; }
        /// <summary>An earlier hand-over was interrupted: the backend may already have the run.</summary>
        public bool StaleClaim { get; }
    }

    /// <summary>What became of an attempt that ended with a reason to retry.</summary>
    internal enum RetryDecision
    {
        /// <summary>No retry: the record is gone or could not be written; the attempt's end is the run's.</summary>
        OutcomeStands,
        /// <summary>The next attempt is recorded as queued; it may be handed over.</summary>
        Retrying,
        /// <summary>Another process recorded the run's end or its next attempt first: follow the record.</summary>
        MovedOn,
    }
}
