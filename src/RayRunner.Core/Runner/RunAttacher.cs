using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// Runs of other sessions and processes: attaches to them from the store (a finished one is
    /// answered from its record, a submitted one is monitored through the backend with its recorded
    /// locator, a queued one is followed through the store), adopts the queued runs whose process
    /// died and hands them to the dispatch queue.
    /// </summary>
    internal sealed class RunAttacher
    {
        static readonly TimeSpan FirstLook = TimeSpan.FromMilliseconds(20);
        static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(1);

        readonly RunnerContext _ctx;
        readonly RunRecorder _recorder;
        readonly RunPreparer _preparer;
        readonly DispatchQueue _queue;
        readonly RunMonitor _monitor;

        public RunAttacher(RunnerContext ctx, RunRecorder recorder, RunPreparer preparer, DispatchQueue queue, RunMonitor monitor)
        {
            _ctx = ctx;
            _recorder = recorder;
            _preparer = preparer;
            _queue = queue;
            _monitor = monitor;
        }

        /// <summary>
        /// The tracked run, or one made from the store: finished runs are answered from their record
        /// (not added to the table), others are tracked and watched. Null when the store has no such run.
        /// </summary>
        public TrackedRun? Attach(string? runId)
        {
            if (runId == null) return null;
            while (true)
            {
                if (_ctx.Runs.TryGet(runId, out var tracked)) return tracked;
                var record = _ctx.Store.TryLoad(runId);
                if (record == null) return null;
                if (record.IsFinal) return Settled(record);
                if (!_ctx.CanRunHere(record)) throw new InvalidOperationException(_ctx.OtherBackend(record));
                var run = _preparer.FromRecord(record, follower: true);
                if (!_ctx.Runs.TryAdd(run)) continue; // attached by another caller meanwhile
                if (record.IsSubmitted) _monitor.Begin(run, record);
                else Follow(run);
                return run;
            }
        }

        /// <summary>A finished run from the store, as a tracked run whose outcome is already known.</summary>
        TrackedRun Settled(RunRecord record)
        {
            var run = _preparer.FromRecord(record, follower: true);
            run.TryClaimFinish();
            run.MoveTo(RunPhase.Finished);
            run.Outcome.TrySetResult(record.Result!);
            return run;
        }

        /// <summary>
        /// Why this runner cannot follow the run: it has not finished and was started on another
        /// backend, whose runs only that backend can see. Null when it can be followed here, or when
        /// it is finished (its record answers) or unknown.
        /// </summary>
        public string? WhyCannotFollow(string? runId)
        {
            if (runId == null || _ctx.Runs.Contains(runId)) return null;
            var record = _ctx.Store.TryLoad(runId);
            return record == null || record.IsFinal || _ctx.CanRunHere(record) ? null : _ctx.OtherBackend(record);
        }

        /// <summary>Follows a queued run held by another process (or another runner of this one).</summary>
        public void Follow(TrackedRun run) => _ = FollowAsync(run);

        /// <summary>
        /// Watches the run's record until it is submitted (then monitors it through the backend) or
        /// ends. If its holder dies, this runner adopts it and dispatches it in its own queue. The
        /// store is re-read with a backoff from 20 ms to 1 s: a record changes a few times in a run's life.
        /// </summary>
        async Task FollowAsync(TrackedRun run)
        {
            run.IsFollower = true;
            var token = run.Watch.Token;
            var backoff = new Backoff(FirstLook, LongestPause);
            try
            {
                while (!token.IsCancellationRequested)
                {
                    var record = _ctx.Store.TryLoad(run.RunId);
                    if (record == null)
                    {
                        run.DispatchEnded.TrySetResult(false);
                        _monitor.Complete(run, TaskOutput.Failure(run.RunId, RunStatus.Failed,
                            "The run's record disappeared from the run store before the run ended (was its folder deleted?); its outcome is unknown."));
                        return;
                    }
                    if (record.IsFinal)
                    {
                        run.DispatchEnded.TrySetResult(false);
                        _monitor.Complete(run, record.Result!);
                        return;
                    }
                    if (record.IsSubmitted)
                    {
                        _monitor.Begin(run, record);
                        return;
                    }
                    if (record.IsOrphan && _recorder.TryAdopt(run.RunId) != null)
                    {
                        // Ours now: dispatch it through this runner's queue, ahead of later work.
                        run.IsFollower = false;
                        _queue.ReleaseSlotOf(run);
                        _queue.Requeue(run);
                        return;
                    }
                    await backoff.DelayAsync(token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Cancelled (the cancel recorded the outcome) or the runner was disposed.
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                _monitor.Complete(run, TaskOutput.Failure(run.RunId, RunStatus.Failed, $"Following the run through the run store failed: {ex.Message}"));
            }
        }

        /// <summary>
        /// Dispatches again the queued runs whose process died (or whose runner let them go): each is adopted under the store lock, so when several processes resume
        /// at once every run is adopted, and so handed to the backend, by exactly one of them.
        /// Adopted runs go through this runner's queue. Runs made for another backend are left alone.
        /// </summary>
        public IReadOnlyList<RaySpawnedTask> ResumeQueued(string? sweepId, CancellationToken cancellationToken)
        {
            var adopted = new List<RaySpawnedTask>();
            // Only the orphans' whole records are read (a summary tells an orphan); adoption re-checks under the lock.
            foreach (var record in _ctx.Store.ListAll().RecordsWhere(s => (sweepId == null || s.SweepId == sweepId) && s.IsOrphan))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!_ctx.CanRunHere(record) || _ctx.Runs.Contains(record.RunId) || !record.IsOrphan) continue;
                TrackedRun run;
                try
                {
                    run = _preparer.FromRecord(record, follower: false);
                }
                catch (InvalidDataException)
                {
                    continue; // unusable spec: left in the store for the user to inspect or remove
                }
                if (!_ctx.Runs.TryAdd(run)) continue;
                if (_recorder.TryAdopt(record.RunId) == null)
                {
                    _ctx.Runs.Remove(record.RunId); // another process was quicker
                    continue;
                }
                _queue.Enqueue(run);
                adopted.Add(run.Handle());
            }
            CountRunningOfResumedSweeps(adopted);
            _queue.Pump();
            return adopted;
        }

        /// <summary>
        /// MaxConcurrent is a runner's cap. The runs the ended session left running on the backend
        /// belong to the sweeps resumed here, so this runner follows them and counts them against
        /// its own cap before dispatching the adopted ones: the sweep never runs more at once than
        /// the resuming session allows. (A run another live session also counts is counted by both:
        /// fewer at once, never more.)
        /// </summary>
        void CountRunningOfResumedSweeps(IReadOnlyList<RaySpawnedTask> adopted)
        {
            var sweeps = new HashSet<string>(StringComparer.Ordinal);
            foreach (var a in adopted)
                if (a.SweepId != null) sweeps.Add(a.SweepId);
            if (sweeps.Count == 0) return;
            foreach (var record in _ctx.Store.ListAll().RecordsWhere(s => s.SweepId != null && sweeps.Contains(s.SweepId) && !s.IsFinal && s.Submitted))
            {
                if (record.SweepId == null || !sweeps.Contains(record.SweepId) || record.IsFinal || !record.IsSubmitted) continue;
                if (_ctx.Runs.Contains(record.RunId) || !_ctx.CanRunHere(record)) continue;
                TrackedRun? running;
                try
                {
                    running = Attach(record.RunId);
                }
                catch (Exception ex) when (ex is InvalidDataException || ex is InvalidOperationException)
                {
                    continue; // unusable or not followable here: nothing to count
                }
                if (running != null && !running.IsFinished) _queue.HoldSlotFor(running);
            }
        }
    }
}
