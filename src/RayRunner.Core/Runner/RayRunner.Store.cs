using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    // The runner's side of the run store: runs of earlier sessions and other processes. Every
    // decision that must be made once across processes (claim a run for dispatch, adopt an orphan,
    // record a cancel, match a resumed sweep) is made inside the store lock.
    public sealed partial class RayRunner
    {
        /// <summary>Files in the store that could not be read (reported, skipped, never thrown).</summary>
        public IReadOnlyList<StoreProblem> StoreProblems => _store.Problems;

        // ----------------------------------------------------------------------------------
        // Claims: exactly-once hand-over
        // ----------------------------------------------------------------------------------

        enum ClaimKind { Claimed, Final, Submitted, Elsewhere, Missing }

        readonly struct ClaimDecision
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

        ClaimDecision ClaimForDispatch(string runId) => _store.WithLock(() =>
        {
            var record = _store.TryLoad(runId);
            if (record == null) return new ClaimDecision(ClaimKind.Missing, null);
            if (record.IsFinal) return new ClaimDecision(ClaimKind.Final, record);
            if (record.IsSubmitted) return new ClaimDecision(ClaimKind.Submitted, record);
            if (record.Claim != null && !record.Claim.By.Equals(_me) && record.Claim.By.IsAlive)
                return new ClaimDecision(ClaimKind.Elsewhere, record);
            if (record.Owner != null && !record.Owner.Equals(_me) && record.Owner.IsAlive)
                return new ClaimDecision(ClaimKind.Elsewhere, record);
            _store.Save(record.With(owner: _me, claim: new DispatchClaim { By = _me, At = DateTimeOffset.UtcNow }));
            return new ClaimDecision(ClaimKind.Claimed, record, staleClaim: record.Claim != null);
        });

        /// <summary>
        /// A queued run nobody holds: its owner process is gone (or let it go) and nobody alive is
        /// handing it over. Any process may adopt it.
        /// </summary>
        internal static bool IsOrphan(RunRecord record) =>
            !record.IsFinal && !record.IsSubmitted &&
            (record.Owner == null || !record.Owner.IsAlive) &&
            (record.Claim == null || !record.Claim.By.IsAlive);

        /// <summary>
        /// A run recorded as submitted that its backend held without starting it, in a process that
        /// has died (the local backend's runs waiting for a slot): as good as queued, and nobody holds it.
        /// </summary>
        bool IsStranded(RunRecord record) =>
            record.IsSubmitted && !record.IsFinal && record.Submission!.Backend == _backend.Name &&
            _backend is IStrandedRunDetector detector && detector.IsStranded(record.ToTaskRef());

        /// <summary>
        /// Makes this process the owner of an orphaned queued run, or of a stranded one (recorded as
        /// queued again, its submission dropped); null when it is not (or no longer) either.
        /// </summary>
        RunRecord? TryAdopt(string runId) => _store.WithLock(() =>
        {
            var record = _store.TryLoad(runId);
            if (record == null) return null;
            // The dead process's claim stays: it tells the dispatcher to ask the backend first.
            if (IsOrphan(record)) return _store.Save(record.With(owner: _me));
            if (IsStranded(record))
                return _store.Save(record.With(status: RunStatus.Queued, owner: _me, clearClaim: true, clearSubmission: true));
            return null;
        });

        /// <summary>Forgets a stranded run's old submission in this runner, so it is dispatched afresh.</summary>
        void Unsubmit(TrackedRun run)
        {
            run.Ref = new TaskRef(_backend.Name, run.RunId);
            run.DispatchedAt = null;
            run.LastPhase = RunStatus.Queued;
        }

        /// <summary>
        /// Called when a monitored run ended without success: if it never started because the process
        /// holding it on the backend died (see <see cref="IStrandedRunDetector"/>), it is not failed but
        /// adopted and queued here; if another process already dispatched it again, it is followed.
        /// False when the outcome stands.
        /// </summary>
        bool TakeOverStranded(TrackedRun run)
        {
            if (!(_backend is IStrandedRunDetector)) return false;
            var monitored = run.Ref;
            var step = _store.WithLock(() =>
            {
                var record = _store.TryLoad(run.RunId);
                if (record == null || record.IsFinal) return 0; // the outcome stands (a final record wins in Finish)
                if (!record.IsSubmitted || !SameLocator(record.Submission!.Locator, monitored.Locator)) return 2; // dispatched again elsewhere
                if (!IsStranded(record)) return 0;
                _store.Save(record.With(status: RunStatus.Queued, owner: _me, clearClaim: true, clearSubmission: true));
                return 1;
            });
            if (step == 0) return false;
            run.IsFollower = step == 2;
            Unsubmit(run);
            ReleaseSlotOf(run);
            if (step == 2)
            {
                _ = FollowAsync(run);
                return true;
            }
            lock (_gate)
            {
                run.Phase = RunPhase.Queued;
                _queue.AddFirst(run);
            }
            Pump();
            return true;
        }

        static bool SameLocator(IReadOnlyDictionary<string, string>? a, IReadOnlyDictionary<string, string>? b)
        {
            a ??= new Dictionary<string, string>();
            b ??= new Dictionary<string, string>();
            return a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
        }

        /// <summary>Lets go of a queued run (this runner is going away) so any process can resume it.</summary>
        void Release(TrackedRun run)
        {
            try
            {
                _store.WithLock(() =>
                {
                    var record = _store.TryLoad(run.RunId);
                    if (record != null && !record.IsFinal && !record.IsSubmitted && _me.Equals(record.Owner))
                        _store.Save(record.With(clearOwner: true));
                    return 0;
                });
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                // Still recorded as held by this process: it becomes an orphan when the process exits.
            }
        }

        bool CanRunHere(RunRecord record) => record.Spec.Backend == _backend.Name;

        string OtherBackend(RunRecord record) =>
            $"Run '{record.RunId}' was started on the {record.Spec.Backend} backend at {record.Spec.Address}, but this runner uses the {_backend.Name} backend at {_backend.Address}. " +
            $"Connect to the {record.Spec.Backend} backend to follow it.";

        /// <summary>
        /// Why this runner cannot follow the run: it has not finished and was started on another
        /// backend, whose runs only that backend can see. Null when it can be followed here, or when
        /// it is finished (its record answers) or unknown.
        /// </summary>
        public string? WhyCannotFollow(string runId)
        {
            if (runId == null || _active.ContainsKey(runId)) return null;
            var record = _store.TryLoad(runId);
            return record == null || record.IsFinal || CanRunHere(record) ? null : OtherBackend(record);
        }

        // ----------------------------------------------------------------------------------
        // Attaching to runs of other sessions and processes
        // ----------------------------------------------------------------------------------

        /// <summary>
        /// The tracked run, or one made from the store: a finished run is answered from its record
        /// (no backend call); a submitted one is re-attached through the backend with the recorded
        /// locator (Ray: submission id; local: pid and start time); a queued one is followed through
        /// the store, and dispatched here if its process died. Null when the store has no such run.
        /// </summary>
        TrackedRun? Attach(string runId)
        {
            if (runId == null) return null;
            while (true)
            {
                if (_active.TryGetValue(runId, out var tracked)) return tracked;
                var record = _store.TryLoad(runId);
                if (record == null) return null;
                if (record.IsFinal) return Settled(record);
                if (!CanRunHere(record)) throw new InvalidOperationException(OtherBackend(record));
                var run = FromRecord(record, follower: true);
                if (!_active.TryAdd(runId, run)) continue; // attached by another caller meanwhile
                if (record.IsSubmitted) BeginMonitoring(run, record);
                else _ = FollowAsync(run);
                return run;
            }
        }

        /// <summary>A finished run from the store, as a tracked run whose outcome is already known (not added to the active table).</summary>
        TrackedRun Settled(RunRecord record)
        {
            var run = FromRecord(record, follower: true);
            run.TryClaimFinish();
            run.Phase = RunPhase.Finished;
            run.Outcome.TrySetResult(record.Result!);
            return run;
        }

        TrackedRun FromRecord(RunRecord record, bool follower)
        {
            var input = record.Spec.Input ?? new TaskInput(
                ExperimentConfig.WithoutRunId(record.Spec.Config.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal)), record.RunId);
            EntrypointTemplate template;
            try
            {
                template = EntrypointTemplate.Parse(record.Spec.Entrypoint);
            }
            catch (ArgumentException ex) when (record.IsFinal)
            {
                _ = ex; // the result is all a finished run needs
                template = EntrypointTemplate.Parse("(unavailable)");
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"The record of run '{record.RunId}' holds an entrypoint that cannot be used: {ex.Message}", ex);
            }
            var spec = new TaskSpec(input, template)
            {
                WorkingDirectory = record.Spec.WorkingDirectory,
                SweepId = record.Spec.SweepId,
                UseShell = record.Spec.UseShell,
                Environment = record.Spec.Environment ?? new Dictionary<string, string>(),
            };
            var run = new TrackedRun(spec, record.Spec.Options ?? RemoteOptions(), record.Spec.Config, record.Spec.Backend, record.Spec.CreatedAt)
            {
                SpecRecord = record.Spec,
                IsFollower = follower,
            };
            if (record.IsSubmitted)
            {
                run.Ref = record.ToTaskRef();
                run.DispatchedAt = record.Submission!.SubmittedAt;
            }
            return run;
        }

        /// <summary>
        /// Watches a queued run held by another process (or another runner of this one) until it is
        /// submitted (then monitors it through the backend) or ends. If its holder dies, this runner
        /// adopts it and dispatches it in its own queue. The store is re-read with a backoff from
        /// 20 ms to 1 s: a record changes a few times in a run's life.
        /// </summary>
        async Task FollowAsync(TrackedRun run)
        {
            run.IsFollower = true;
            var token = run.Watch.Token;
            var pause = TimeSpan.FromMilliseconds(20);
            try
            {
                while (!token.IsCancellationRequested)
                {
                    var record = _store.TryLoad(run.RunId);
                    if (record == null)
                    {
                        run.DispatchEnded.TrySetResult(false);
                        Complete(run, TaskOutput.Failure(run.RunId, RunStatus.Failed,
                            "The run's record disappeared from the run store before the run ended (was its folder deleted?); its outcome is unknown."));
                        return;
                    }
                    if (record.IsFinal)
                    {
                        run.DispatchEnded.TrySetResult(false);
                        Complete(run, record.Result!);
                        return;
                    }
                    if (record.IsSubmitted)
                    {
                        BeginMonitoring(run, record);
                        return;
                    }
                    if (IsOrphan(record) && TryAdopt(run.RunId) != null)
                    {
                        // Ours now: dispatch it through this runner's queue, ahead of later work.
                        run.IsFollower = false;
                        ReleaseSlotOf(run);
                        lock (_gate)
                        {
                            run.Phase = RunPhase.Queued;
                            _queue.AddFirst(run);
                        }
                        Pump();
                        return;
                    }
                    await Task.Delay(pause, token).ConfigureAwait(false);
                    pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 1000));
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Cancelled (the cancel recorded the outcome) or the runner was disposed.
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                Complete(run, TaskOutput.Failure(run.RunId, RunStatus.Failed, $"Following the run through the run store failed: {ex.Message}"));
            }
        }

        /// <summary>
        /// Dispatches again the queued runs whose process died (or whose runner let them go): each
        /// is adopted under the store lock, so when several processes resume at once every run is
        /// adopted, and so handed to the backend, by exactly one of them. Adopted runs go through
        /// this runner's queue and MaxConcurrent. Runs recorded for another backend are left alone.
        /// <c>Resume-RaySweep</c> calls this; <see cref="WaitAsync"/> and <see cref="GetResultAsync"/>
        /// do the same for the runs they wait on.
        /// </summary>
        /// <param name="sweepId">Only runs of this sweep; null for every orphaned run in the store.</param>
        /// <returns>The runs this runner adopted, oldest first.</returns>
        public Task<IReadOnlyList<RaySpawnedTask>> ResumeQueuedAsync(string? sweepId = null, CancellationToken cancellationToken = default)
        {
            var adopted = new List<RaySpawnedTask>();
            foreach (var record in _store.List())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (sweepId != null && record.SweepId != sweepId) continue;
                if (!CanRunHere(record) || _active.ContainsKey(record.RunId) || !(IsOrphan(record) || IsStranded(record))) continue;
                TrackedRun run;
                try
                {
                    run = FromRecord(record, follower: false);
                }
                catch (InvalidDataException)
                {
                    continue; // unusable spec: left in the store for the user to inspect or remove
                }
                if (!_active.TryAdd(record.RunId, run)) continue;
                if (TryAdopt(record.RunId) == null)
                {
                    _active.TryRemove(record.RunId, out _); // another process was quicker
                    continue;
                }
                if (record.IsSubmitted) Unsubmit(run); // stranded: dispatched afresh
                lock (_gate) _queue.AddLast(run);
                adopted.Add(Handle(run));
            }
            Pump();
            return Task.FromResult<IReadOnlyList<RaySpawnedTask>>(adopted);
        }

        // ----------------------------------------------------------------------------------
        // Resuming a sweep (tmgg's coordinator)
        // ----------------------------------------------------------------------------------

        async Task<IReadOnlyList<RaySpawnedTask>> ResumeSweepAsync(IReadOnlyList<TrackedRun> runs, RunRequest request, CancellationToken cancellationToken)
        {
            var sweepId = request.SweepId
                ?? throw new ArgumentException("Resuming a sweep needs its SweepId: give the SweepId the sweep was started with.", nameof(request));

            // Match and record in one locked step, so two processes resuming the same sweep at once
            // do not both start a missing config: the second sees the first's queued runs.
            var plan = _store.WithLock(() =>
            {
                var existing = _store.List().Where(r => r.SweepId == sweepId).ToList();
                var used = new HashSet<string>(StringComparer.Ordinal);
                var steps = new List<(TrackedRun? Fresh, RunRecord? Existing)>();
                try
                {
                    foreach (var run in runs)
                    {
                        var match = existing
                            .Where(r => !used.Contains(r.RunId) && r.Spec.ConfigHash == run.SpecRecord.ConfigHash && Reusability(r) < 2)
                            .OrderBy(Reusability).ThenBy(r => r.Spec.CreatedAt)
                            .FirstOrDefault();
                        if (match != null)
                        {
                            used.Add(match.RunId);
                            steps.Add((null, match));
                        }
                        else
                        {
                            Register(run);
                            steps.Add((run, null));
                        }
                    }
                }
                catch
                {
                    foreach (var fresh in steps.Where(s => s.Fresh != null)) Unregister(fresh.Fresh!);
                    throw;
                }
                return steps;
            });

            var handles = new List<RaySpawnedTask>(plan.Count);
            for (var i = 0; i < plan.Count; i++)
            {
                var (fresh, existing) = plan[i];
                try
                {
                    if (existing != null)
                    {
                        var attached = existing.IsFinal ? null : Attach(existing.RunId);
                        handles.Add(attached != null ? Handle(attached)
                            : new RaySpawnedTask(existing.RunId, existing.ToTaskRef()) { SweepId = existing.SweepId, SubmittedAt = existing.Spec.CreatedAt });
                    }
                    else
                    {
                        handles.Add(await LaunchAsync(fresh!, cancellationToken).ConfigureAwait(false));
                    }
                }
                catch (Exception ex)
                {
                    // Runs recorded for this call but never launched must not linger as queued.
                    foreach (var later in plan.Skip(i + 1).Where(s => s.Fresh != null)) Unregister(later.Fresh!);
                    if (handles.Count == 0) throw;
                    throw new SweepSpawnException(handles, plan.Count, ex);
                }
            }
            return handles;
        }

        /// <summary>0: completed, reuse it; 1: still queued or running here, follow it; 2: run the config again.</summary>
        int Reusability(RunRecord record)
        {
            if (record.IsFinal) return RunStatus.Normalize(record.Result!.Status) == RunStatus.Completed ? 0 : 2;
            return CanRunHere(record) ? 1 : 2;
        }

        void Unregister(TrackedRun run)
        {
            _active.TryRemove(run.RunId, out _);
            try { _store.Delete(run.RunId); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
        }

        // ----------------------------------------------------------------------------------
        // Status, cancel and removal of runs this runner does not track
        // ----------------------------------------------------------------------------------

        /// <summary>get_status for a run known only to the store: the recorded result, else the backend's answer through the recorded locator.</summary>
        async Task<string> GetStoredStatusAsync(string runId, CancellationToken cancellationToken)
        {
            var record = RunIds.IsValid(runId) ? _store.TryLoad(runId) : null;
            if (record == null) return RunStatus.Unknown;
            if (record.IsFinal) return RunStatus.Normalize(record.Result!.Status) ?? record.Status;
            if (!record.IsSubmitted) return RunStatus.Queued;
            if (record.Submission!.Backend != _backend.Name) return record.Status;
            if (IsStranded(record)) return RunStatus.Queued; // never started; the next Wait or Resume dispatches it

            var taskRef = record.ToTaskRef();
            var wait = await _backend.WaitAsync(new[] { taskRef }, 1, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            if (wait.Ready.Count == 0) return wait.PhaseOf(taskRef);
            TaskOutput output;
            try
            {
                output = await _backend.GetAsync(taskRef, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception)
            {
                return RunStatus.Failed;
            }
            // Seen it end: record it, so the result is never lost and never fetched twice.
            var final = Finalize(output, runId, record.Submission.SubmittedAt);
            var stored = SaveQuietly(record.With(status: final.Status, result: final, clearOwner: true, clearClaim: true));
            return RunStatus.Normalize(stored?.Result?.Status) ?? final.Status;
        }

        /// <summary>
        /// Cancels a run known from the store: a queued one is recorded as cancelled (its holder, on
        /// trying to claim it, finds it final and reports it); a submitted one is stopped through the
        /// backend, then recorded.
        /// </summary>
        async Task<bool> CancelStoredAsync(string runId, TrackedRun? follower, CancellationToken cancellationToken)
        {
            var pause = TimeSpan.FromMilliseconds(10);
            while (true)
            {
                var record = RunIds.IsValid(runId) ? _store.TryLoad(runId) : null;
                if (record == null || record.IsFinal) return false;

                RunRecord? cancelled;
                if (!record.IsSubmitted)
                {
                    var busy = false;
                    cancelled = _store.WithLock(() =>
                    {
                        var now = _store.TryLoad(runId);
                        if (now == null || now.IsFinal || now.IsSubmitted) return null;
                        if (now.Claim != null && now.Claim.By.IsAlive) { busy = true; return null; }
                        var output = Finalize(TaskOutput.Failure(runId, RunStatus.Cancelled, "The run was cancelled before it started."), runId, null);
                        return _store.Save(now.With(status: RunStatus.Cancelled, result: output, clearOwner: true, clearClaim: true));
                    });
                    if (cancelled == null)
                    {
                        // Being handed to the backend right now (a few milliseconds), or it changed: look again.
                        if (busy) await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                        pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 200));
                        continue;
                    }
                }
                else
                {
                    if (record.Submission!.Backend != _backend.Name)
                        throw new InvalidOperationException(
                            $"Run '{runId}' runs on the {record.Submission.Backend} backend, but this runner uses the {_backend.Name} backend. Connect to the {record.Submission.Backend} backend to stop it.");
                    try
                    {
                        await _backend.CancelAsync(record.ToTaskRef(), cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (Exception)
                    {
                        return false; // tmgg: a cancel the backend refused is false
                    }
                    var output = Finalize(TaskOutput.Failure(runId, RunStatus.Cancelled, "The run was cancelled."), runId, record.Submission.SubmittedAt);
                    cancelled = SaveQuietly(record.With(status: RunStatus.Cancelled, result: output, clearOwner: true, clearClaim: true));
                }

                if (follower != null)
                {
                    follower.Watch.Cancel();
                    follower.DispatchEnded.TrySetResult(false);
                    Complete(follower, cancelled?.Result ?? TaskOutput.Failure(runId, RunStatus.Cancelled, "The run was cancelled."));
                    _active.TryRemove(runId, out _);
                }
                return true;
            }
        }

        /// <summary>
        /// Deletes a finished run: its folder in the store and, where the backend keeps one (Ray),
        /// its job record. An unfinished run is refused: stop it or wait for it first. If the backend
        /// refuses the deletion, the store keeps the run (nothing half-removed). False when neither
        /// this runner nor the store knows the run.
        /// </summary>
        public async Task<bool> RemoveRunAsync(string runId, CancellationToken cancellationToken = default)
        {
            RunIds.Validate(runId, nameof(runId));
            if (_active.TryGetValue(runId, out var run) && !run.IsFinished)
                throw Unfinished(runId, Snapshot(run).Status);
            var record = _store.TryLoad(runId);
            if (record == null) return _active.TryRemove(runId, out _);
            if (!record.IsFinal) throw Unfinished(runId, record.Status);

            if (record.IsSubmitted && record.Submission!.Backend == _backend.Name && _backend is IRunRemover remover)
                await remover.RemoveAsync(record.ToTaskRef(), cancellationToken).ConfigureAwait(false);
            _store.Delete(runId);
            _active.TryRemove(runId, out _);
            return true;
        }

        static InvalidOperationException Unfinished(string runId, string status) =>
            new InvalidOperationException(
                $"Run '{runId}' has not finished (it is {status}), so it cannot be removed. Stop it first (Stop-RayRun, CancelAsync) or wait for it to end, then remove it.");
    }
}
