using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>Where a tracked run is in the runner's own life cycle (not the backend's).</summary>
    internal enum RunPhase
    {
        /// <summary>Held by the runner's dispatch queue until a slot frees, or followed through the store.</summary>
        Queued,
        /// <summary>Being handed to the backend right now.</summary>
        Dispatching,
        /// <summary>The backend has it; a monitor waits for its end.</summary>
        Dispatched,
        Finished,
    }

    /// <summary>The runner's state for one run. Its phase changes only through <see cref="MoveTo"/>.</summary>
    internal sealed class TrackedRun
    {
        int _finished;
        int _holdsSlot;
        readonly object _phaseGate = new object();
        RunPhase _phase = RunPhase.Queued;
        CancellationTokenRegistration _lifetimeLink;

        public TrackedRun(TaskSpec spec, TaskOptions options, IReadOnlyDictionary<string, object?> config, string backend, DateTimeOffset submittedAt)
        {
            Spec = spec;
            Options = options;
            Config = config;
            Ref = new TaskRef(backend, spec.RunId);
            SubmittedAt = submittedAt;
        }

        public string RunId => Spec.RunId;
        public TaskSpec Spec { get; }
        public TaskOptions Options { get; }
        /// <summary>The config as the caller gave it (a run_id key included), for the result.</summary>
        public IReadOnlyDictionary<string, object?> Config { get; }
        public string? SweepId => Spec.SweepId;
        /// <summary>When the run was first asked for (kept across processes through the store).</summary>
        public DateTimeOffset SubmittedAt { get; }
        /// <summary>What the store records as the run's spec; made once, reused by every save.</summary>
        public RunSpecRecord SpecRecord { get; init; } = new RunSpecRecord();

        /// <summary>
        /// A run this runner did not start but follows through the store (an earlier session's or
        /// another process's run): it watches the record until the run is submitted or ends.
        /// </summary>
        public bool IsFollower
        {
            get => _isFollower;
            set => _isFollower = value;
        }
        volatile bool _isFollower;

        public RunPhase Phase
        {
            get { lock (_phaseGate) return _phase; }
        }

        /// <summary>
        /// The one way a run's phase changes. Allowed: Queued to anything; Dispatching to Queued (its
        /// holder died and it was adopted, or the backend refused it as full), Dispatched or Finished;
        /// Dispatched to Dispatched (watched afresh after another process dispatched it again),
        /// Queued (a retry's next attempt, see <see cref="RetryScheduler"/>) or Finished; Finished to Finished (no-op). Anything else is a bug in the runner and throws.
        /// </summary>
        public void MoveTo(RunPhase next)
        {
            lock (_phaseGate)
            {
                if (!IsAllowed(_phase, next))
                    throw new InvalidOperationException($"Run '{RunId}' cannot move from {_phase} to {next}: this is a bug in RayRunner's runner.");
                _phase = next;
            }
        }

        /// <summary>Moves to <paramref name="next"/> only from <paramref name="expected"/>; false (unchanged) otherwise.</summary>
        public bool TryMove(RunPhase expected, RunPhase next)
        {
            lock (_phaseGate)
            {
                if (_phase != expected) return false;
                MoveTo(next);
                return true;
            }
        }

        static bool IsAllowed(RunPhase from, RunPhase to) => from switch
        {
            RunPhase.Queued => true,
            RunPhase.Dispatching => to != RunPhase.Dispatching,
            // Dispatched to Queued only for a retry: the next attempt is recorded and queued afresh.
            RunPhase.Dispatched => to == RunPhase.Dispatched || to == RunPhase.Finished || to == RunPhase.Queued,
            _ => to == RunPhase.Finished,
        };

        /// <summary>How the run is retried; null when it is tried once.</summary>
        public RetryPolicy? Retry => SpecRecord.Retry;

        /// <summary>Which attempt is current (1 for the first); the store's record says the same.</summary>
        public int Attempt
        {
            get => Volatile.Read(ref _attempt);
            private set => Volatile.Write(ref _attempt, value);
        }
        int _attempt = 1;

        /// <summary>The attempts that ended before the current one, oldest first (as recorded).</summary>
        public IReadOnlyList<AttemptRecord>? PastAttempts { get; private set; }

        /// <summary>Takes the attempt number and the earlier attempts from the run's record (the store decides).</summary>
        public void SyncAttempts(RunRecord record)
        {
            PastAttempts = record.Attempts;
            Attempt = record.Attempt;
        }

        /// <summary>What the backend is given for the current attempt (its own submission id).</summary>
        public TaskSpec AttemptSpec() => Spec.ForAttempt(Attempt);

        /// <summary>The backend's reference once dispatched; a placeholder with no locator before.</summary>
        public volatile TaskRef Ref;
        public DateTimeOffset? DispatchedAt;
        /// <summary>The last non-final status seen (pending or running), for listings that must not call the backend.</summary>
        public volatile string LastPhase = RunStatus.Queued;

        /// <summary>Completes once the current attempt's dispatch has ended, either way (cancel waits on it).</summary>
        public TaskCompletionSource<bool> DispatchEnded => _dispatchEnded;
        volatile TaskCompletionSource<bool> _dispatchEnded = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>
        /// A retry's next attempt is about to be dispatched: a cancel from now on waits for that
        /// hand-over, then stops the new attempt (not the ended one).
        /// </summary>
        public void BeginNextDispatch() =>
            _dispatchEnded = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>The run's final output; the first completion wins (a cancel racing a finish).</summary>
        public readonly TaskCompletionSource<TaskOutput> Outcome = new TaskCompletionSource<TaskOutput>(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>
        /// Stops the run's monitor or follower: cancelled when the run is cancelled, and, being a child
        /// of the runner's lifetime (<see cref="LinkTo"/>), when the runner is disposed.
        /// </summary>
        public readonly CancellationTokenSource Watch = new CancellationTokenSource();

        /// <summary>Makes <see cref="Watch"/> a child of the runner's lifetime until the run finishes.</summary>
        public void LinkTo(CancellationToken lifetime)
        {
            if (!IsFinished) _lifetimeLink = lifetime.Register(StopWatching);
        }

        /// <summary>Stops the monitor (safe to repeat).</summary>
        public void StopWatching()
        {
            try { Watch.Cancel(); }
            catch (ObjectDisposedException) { }
        }

        /// <summary>The run is finished: unhook it from the runner's lifetime, so a long-lived runner keeps no trace of it.</summary>
        public void Unlink() => _lifetimeLink.Dispose();

        public bool IsFinished => Outcome.Task.IsCompleted;

        /// <summary>Set (under the dispatch queue's gate) when the run takes one of the runner's MaxConcurrent slots.</summary>
        public bool HoldsSlot
        {
            get => Volatile.Read(ref _holdsSlot) == 1;
            set => Volatile.Write(ref _holdsSlot, value ? 1 : 0);
        }

        /// <summary>True for exactly one caller when the run holds a slot: the one that frees it.</summary>
        public bool TryReleaseSlot() => Interlocked.Exchange(ref _holdsSlot, 0) == 1;

        /// <summary>True for exactly one caller: the one allowed to record and report the outcome.</summary>
        public bool TryClaimFinish() => Interlocked.Exchange(ref _finished, 1) == 0;

        public RaySpawnedTask Handle() =>
            new RaySpawnedTask(RunId, Ref) { SweepId = SweepId, SubmittedAt = SubmittedAt };
    }
}
