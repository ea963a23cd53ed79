using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// The only queue: runs beyond <see cref="DispatchLimit"/> wait here as <c>queued</c> (recorded,
    /// resumable by any process) and are handed to the backend in order as slots free up. A backend
    /// starts what it is given, or refuses it when full (<see cref="BackendFullException"/>): the run
    /// then goes back to the front of this queue. Handing over is exactly-once across processes: the
    /// run is claimed in the store first (<see cref="RunRecorder.ClaimForDispatch"/>), submitted, then
    /// recorded.
    /// </summary>
    internal sealed class DispatchQueue
    {
        readonly RunnerContext _ctx;
        readonly RunRecorder _recorder;
        readonly object _gate = new object();
        readonly LinkedList<TrackedRun> _queue = new LinkedList<TrackedRun>();
        int _inFlight;
        int _dispatchLimit;
        /// <summary>Set when the backend refused a run as full: no hand-over until a slot frees or the retry pause passes.</summary>
        bool _heldBack;
        Backoff _refusedBackoff = NewRefusedBackoff();

        /// <summary>
        /// After a refusal with none of this runner's runs on the backend to free a slot (the slots are
        /// held by runs this runner already let go, e.g. a stop still ending), look again after a pause.
        /// </summary>
        static Backoff NewRefusedBackoff() => new Backoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1));

        public DispatchQueue(RunnerContext ctx, RunRecorder recorder)
        {
            _ctx = ctx;
            _recorder = recorder;
        }

        /// <summary>Set once by the runner: who watches a run after hand-over, and who follows runs held elsewhere.</summary>
        public RunMonitor Monitor { get; set; } = null!;
        public RunAttacher Attacher { get; set; } = null!;

        /// <summary>
        /// How many runs are handed to the backend at once: MaxConcurrent, or fewer when the backend
        /// declares fewer fit (the local backend's CPU and GPU slots).
        /// </summary>
        public int DispatchLimit
        {
            get
            {
                if (_dispatchLimit == 0)
                {
                    var fits = _ctx.Backend.Abilities.RunsAtOnce?.Invoke(_ctx.RemoteOptions()) ?? 0;
                    // 0 means a run never fits: dispatch anyway, so the backend fails it with its reason.
                    _dispatchLimit = fits >= 1 ? Math.Min(_ctx.Options.MaxConcurrent, fits) : _ctx.Options.MaxConcurrent;
                }
                return _dispatchLimit;
            }
        }

        /// <summary>
        /// Hands a registered run to the backend now, or queues it until a slot frees. A failed
        /// hand-over now is thrown to the caller, and nothing of the run remains.
        /// </summary>
        public async Task LaunchAsync(TrackedRun run, CancellationToken cancellationToken)
        {
            bool dispatchNow;
            lock (_gate)
            {
                dispatchNow = !_heldBack && _inFlight < DispatchLimit && _queue.Count == 0;
                if (dispatchNow) TakeSlot(run);
                else _queue.AddLast(run);
            }
            if (!dispatchNow) return;
            try
            {
                await DispatchAsync(run, cancellationToken).ConfigureAwait(false);
            }
            catch (BackendFullException)
            {
                TurnBackToQueued(run); // still the caller's run: it waits here, as any queued run
            }
            catch
            {
                // The caller is told it failed, so nothing of the run may remain.
                _ctx.Runs.Remove(run.RunId);
                _recorder.Delete(run.RunId);
                run.MoveTo(RunPhase.Finished);
                run.DispatchEnded.TrySetResult(false);
                ReleaseSlotOf(run);
                throw;
            }
        }

        /// <summary>
        /// Counts a run already on the backend (submitted by a process that is gone) against this
        /// runner's cap until it ends, so resuming a sweep does not start more of it at once than
        /// MaxConcurrent. The slot is freed as any other when the run's outcome is recorded.
        /// </summary>
        public void HoldSlotFor(TrackedRun run)
        {
            lock (_gate)
            {
                if (run.HoldsSlot || run.IsFinished) return;
                _inFlight++;
                run.HoldsSlot = true;
            }
            // It may have ended just before the slot was taken, when its Complete found no slot to
            // free: free it here then (TryReleaseSlot lets only one of the two do it).
            if (run.IsFinished) ReleaseSlotOf(run);
        }

        /// <summary>Queues a run this runner adopted; <see cref="Pump"/> hands it over.</summary>
        public void Enqueue(TrackedRun run)
        {
            lock (_gate) _queue.AddLast(run);
        }

        /// <summary>
        /// Puts a run that is ours again (adopted after its holder died) at the front of the queue,
        /// ahead of later work, and dispatches. False when it finished meanwhile (a cancel won).
        /// </summary>
        public bool Requeue(TrackedRun run)
        {
            lock (_gate)
            {
                if (run.IsFinished || run.Phase == RunPhase.Finished) return false;
                run.MoveTo(RunPhase.Queued);
                _queue.AddFirst(run);
            }
            Pump();
            return true;
        }

        /// <summary>Takes a run out of the queue before it was handed over (a cancel); false when it is not waiting here.</summary>
        public bool TryRemoveQueued(TrackedRun run)
        {
            lock (_gate)
            {
                if (run.Phase != RunPhase.Queued || !_queue.Remove(run)) return false;
                run.MoveTo(RunPhase.Finished);
                return true;
            }
        }

        /// <summary>Empties the queue (the runner is going away) and returns what waited, to be let go in the store.</summary>
        public IReadOnlyList<TrackedRun> Drain()
        {
            lock (_gate)
            {
                var queued = _queue.ToList();
                _queue.Clear();
                return queued;
            }
        }

        /// <summary>Frees the run's slot, if it holds one, and hands the next queued runs to the backend.</summary>
        public void ReleaseSlotOf(TrackedRun run)
        {
            if (!run.TryReleaseSlot()) return;
            lock (_gate)
            {
                _inFlight--;
                _heldBack = false; // a slot freed: the backend may take the refused run now
            }
            Pump();
        }

        public void Pump()
        {
            while (!_ctx.IsDisposed)
            {
                TrackedRun next;
                lock (_gate)
                {
                    if (_heldBack || _inFlight >= DispatchLimit || _queue.Count == 0) return;
                    next = _queue.First!.Value;
                    _queue.RemoveFirst();
                    TakeSlot(next);
                }
                _ = DispatchQueuedAsync(next);
            }
        }

        /// <summary>Caller holds the gate.</summary>
        void TakeSlot(TrackedRun run)
        {
            _inFlight++;
            run.HoldsSlot = true;
            run.MoveTo(RunPhase.Dispatching);
        }

        async Task DispatchQueuedAsync(TrackedRun run)
        {
            try
            {
                await DispatchAsync(run, _ctx.Lifetime).ConfigureAwait(false);
            }
            catch (BackendFullException)
            {
                TurnBackToQueued(run);
            }
            catch (OperationCanceledException) when (_ctx.IsDisposed)
            {
                // The runner was disposed mid-hand-over: leave the run queued in the store, let go of
                // it, and let any process resume it (its claim tells them to ask the backend first).
                run.DispatchEnded.TrySetResult(false);
                _recorder.Release(run);
            }
            catch (Exception ex)
            {
                // Nobody is waiting on this call, so the failure becomes the run's result: never lost.
                run.DispatchEnded.TrySetResult(false);
                Monitor.Complete(run, TaskOutput.Failure(run.RunId, RunStatus.Failed, NotAcceptedMessage(run, ex)));
            }
        }

        /// <summary>
        /// Why a run the backend refused failed. For a retry, also how the attempt before it ended:
        /// a retry refused by a lost head would otherwise bury the clearer "head is lost" under
        /// "could not reach", and that earlier error is what the user has to act on.
        /// </summary>
        static string NotAcceptedMessage(TrackedRun run, Exception ex)
        {
            var message = $"The backend did not accept the run: {ex.Message}";
            var previous = run.Attempt > 1 ? run.PastAttempts?.LastOrDefault() : null;
            if (previous?.Result.ErrorMessage is { Length: > 0 } earlier)
                message = $"The backend did not accept attempt {run.Attempt} of the run: {ex.Message} Attempt {previous.Attempt} had ended {previous.Result.Status}: {earlier}";
            return message;
        }

        /// <summary>
        /// Hands one run to the backend, exactly once across processes. If the store says another
        /// process already has it, or it already ended, this process follows it instead.
        /// </summary>
        async Task DispatchAsync(TrackedRun run, CancellationToken cancellationToken)
        {
            var claim = _recorder.ClaimForDispatch(run.RunId);
            switch (claim.Kind)
            {
                case ClaimKind.Final:
                    run.DispatchEnded.TrySetResult(false);
                    Monitor.Complete(run, claim.Record!.Result!);
                    return;
                case ClaimKind.Submitted:
                    Monitor.Begin(run, claim.Record!);
                    return;
                case ClaimKind.Elsewhere:
                    Attacher.Follow(run);
                    return;
                case ClaimKind.Missing:
                    throw new InvalidOperationException($"The record of run '{run.RunId}' disappeared from the run store before the run was handed over, so it was not started.");
            }
            // The store says which attempt this hand-over is (a recovering process continues the sequence).
            run.SyncAttempts(claim.Record!);
            var spec = run.AttemptSpec();

            TaskRef? taskRef = null;
            if (claim.StaleClaim)
            {
                // A process died while handing this run over: it may or may not have reached the
                // backend. Ask the backend by run id first (Ray: GET by submission id); only a run
                // the backend does not know is submitted again (and SubmitAsync is idempotent per id).
                taskRef = await FindOnBackendAsync(spec.SubmissionId, cancellationToken).ConfigureAwait(false);
            }
            taskRef ??= await _ctx.Backend.SubmitAsync(spec, run.Options, cancellationToken).ConfigureAwait(false);
            lock (_gate) _refusedBackoff = NewRefusedBackoff();
            run.Ref = taskRef;
            run.DispatchedAt = DateTimeOffset.UtcNow;
            run.LastPhase = RunStatus.Pending;
            run.MoveTo(RunPhase.Dispatched);
            _recorder.RecordSubmitted(run);
            run.DispatchEnded.TrySetResult(true);
            Monitor.Watch(run);
        }

        /// <summary>
        /// The backend refused the run as full (its slots are held by runs still ending, or by runs
        /// of another shape adopted from the store): it goes back to the front of the queue, still
        /// claimed by this process, and is handed over again when a slot frees here, or after a
        /// pause. Not an error: the backend kept nothing of it.
        /// </summary>
        void TurnBackToQueued(TrackedRun run)
        {
            TimeSpan pause;
            lock (_gate)
            {
                run.MoveTo(RunPhase.Queued);
                if (run.TryReleaseSlot()) _inFlight--;
                _queue.AddFirst(run);
                _heldBack = true;
                pause = _refusedBackoff.Next();
            }
            _ = RetryAfterAsync(pause);
        }

        async Task RetryAfterAsync(TimeSpan pause)
        {
            try
            {
                await Task.Delay(pause, _ctx.Lifetime).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return; // the runner is going away; Dispose lets queued runs go in the store
            }
            lock (_gate) _heldBack = false;
            Pump();
        }

        /// <summary>The backend's reference for a run it already has, or null when it has none (or cannot say).</summary>
        async Task<TaskRef?> FindOnBackendAsync(string submissionId, CancellationToken cancellationToken)
        {
            var bare = new TaskRef(_ctx.Backend.Name, submissionId);
            try
            {
                var answer = await _ctx.Backend.WaitAsync(new[] { bare }, 1, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
                var found = answer.NotReady.FirstOrDefault(r => r.Equals(bare));
                if (found != null) return found;
                found = answer.Ready.FirstOrDefault(r => r.Equals(bare));
                if (found == null) return null;
                // "Ready" also covers a look-up that found nothing (Ray ends the wait of an unknown job
                // with an error): only a readable result proves the backend has the run. Ready means
                // GetAsync answers at once.
                await _ctx.Backend.GetAsync(found, cancellationToken).ConfigureAwait(false);
                return found;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception)
            {
                return null; // unknown to the backend: submit
            }
        }
    }
}
