using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// The one status loop of a backend: each tick asks the dashboard about every active job in a
    /// single request (GET /api/jobs/ for several, GET /api/jobs/{id} for one), publishes what
    /// changed, and slows down (up to <see cref="RayBackendOptions.PollIntervalMax"/>) while nothing
    /// does. It sleeps without any request while no job is active. GetAsync and WaitAsync are served
    /// from here, never from a loop of their own.
    /// </summary>
    internal sealed class RayJobPoller : IDisposable
    {
        readonly RayJobsClient _client;
        readonly RayBackendOptions _options;
        readonly ConcurrentDictionary<string, JobWatch> _watches = new ConcurrentDictionary<string, JobWatch>(StringComparer.Ordinal);
        readonly SemaphoreSlim _wake = new SemaphoreSlim(0);
        readonly CancellationTokenSource _stop = new CancellationTokenSource();
        readonly object _gate = new object();
        TaskCompletionSource<bool>? _refreshRequested;
        Task? _loop;
        long _ticks;
        long _requests;
        /// <summary>When the last tick started (Stopwatch ticks; 0: never), to space ticks that new jobs ask for.</summary>
        long _lastTickAt;
        int _lastListSize = -1;

        /// <summary>
        /// GET /api/jobs/ is unpaginated and grows with the cluster's history (ray#35202). When the
        /// last list held more than this many jobs per active run, a tick asks for each active job
        /// by id instead: more requests, far fewer bytes.
        /// </summary>
        internal int ListJobsPerActiveRunLimit { get; set; } = 50;

        /// <summary>Lists up to this size are always fine to fetch.</summary>
        internal int ListSizeFloor { get; set; } = 100;

        public RayJobPoller(RayJobsClient client, RayBackendOptions options)
        {
            _client = client;
            _options = options;
        }

        /// <summary>Ticks that sent a request, and requests sent (tests check one request per tick).</summary>
        public long Ticks => Interlocked.Read(ref _ticks);
        public long Requests => Interlocked.Read(ref _requests);

        /// <summary>The delay before the next tick, for diagnostics: it grows while nothing changes.</summary>
        public TimeSpan CurrentInterval { get; private set; }

        /// <summary>Told once per job that stays PENDING longer than <see cref="RayBackendOptions.PendingWarningAfter"/>; must return at once.</summary>
        public Action<JobWatch>? LongPending { get; set; }

        public sealed class JobWatch
        {
            public JobWatch(string id) => Id = id;
            public string Id { get; }
            /// <summary>Completes with the job's terminal details, or with an error when the job is lost or the dashboard stays unreachable.</summary>
            public readonly TaskCompletionSource<RayJobDetails> Terminal = new TaskCompletionSource<RayJobDetails>(TaskCreationOptions.RunContinuationsAsynchronously);
            public volatile RayJobDetails? Last;
            /// <summary>When this poller first saw the job PENDING (null: never, or not since it ran).</summary>
            public DateTimeOffset? PendingSince;
            /// <summary>The long-PENDING warning went out (once per job).</summary>
            public bool WarnedPending;
            public bool IsDone => Terminal.Task.IsCompleted;
        }

        /// <summary>
        /// Starts (or keeps) watching a job; the loop looks at it on its next tick, which comes at once
        /// unless a tick ran less than <see cref="RayBackendOptions.PollIntervalMin"/> ago: then at
        /// that interval, so a sweep that submits many jobs a second sends one status request per
        /// interval, not one per job.
        /// </summary>
        public JobWatch Track(string id)
        {
            var added = false;
            var watch = _watches.GetOrAdd(id, key =>
            {
                added = true;
                return new JobWatch(key);
            });
            EnsureLoop();
            if (added) Wake();
            return watch;
        }

        /// <summary>What the loop knows right now; null before its first look.</summary>
        public JobWatch? Find(string id) => _watches.TryGetValue(id, out var w) ? w : null;

        public void Forget(string id) => _watches.TryRemove(id, out _);

        /// <summary>Drops the watch of a job only if it ended because the dashboard did not know the job (so a later Track looks again).</summary>
        public void ForgetIfNotFound(string id)
        {
            if (_watches.TryGetValue(id, out var watch) && watch.Terminal.Task.IsFaulted
                && watch.Terminal.Task.Exception!.InnerException is RayJobNotFoundException)
                ((ICollection<KeyValuePair<string, JobWatch>>)_watches).Remove(new KeyValuePair<string, JobWatch>(id, watch));
        }

        /// <summary>Asks for a tick now and waits until one has run from start to end.</summary>
        public async Task RefreshAsync(CancellationToken ct)
        {
            Task done;
            lock (_gate)
            {
                _refreshRequested ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                done = _refreshRequested.Task;
            }
            EnsureLoop();
            Wake();
            if (!await Waits.EndsFirstAsync(done, ct).ConfigureAwait(false)) ct.ThrowIfCancellationRequested();
        }

        void Wake()
        {
            if (_wake.CurrentCount == 0) _wake.Release();
        }

        void EnsureLoop()
        {
            if (_loop != null) return;
            lock (_gate)
            {
                if (_loop == null && !_stop.IsCancellationRequested) _loop = Task.Run(() => LoopAsync(_stop.Token));
            }
        }

        async Task LoopAsync(CancellationToken stop)
        {
            var interval = _options.PollIntervalMin;
            var lastSuccess = DateTimeOffset.UtcNow;
            Exception? lastError = null;
            var warnedLost = false;
            while (!stop.IsCancellationRequested)
            {
                TaskCompletionSource<bool>? refresh;
                lock (_gate)
                {
                    refresh = _refreshRequested;
                    _refreshRequested = null;
                }

                var active = _watches.Values.Where(w => !w.IsDone).ToList();
                if (active.Count == 0)
                {
                    refresh?.TrySetResult(true);
                    interval = _options.PollIntervalMin;
                    lastSuccess = DateTimeOffset.UtcNow;
                    CurrentInterval = Timeout.InfiniteTimeSpan;
                    if (await WaitForWakeAsync(Timeout.InfiniteTimeSpan, stop).ConfigureAwait(false) == null) return;
                    if (await SpaceFromLastTickAsync(stop).ConfigureAwait(false) == null) return;
                    continue;
                }

                var changed = false;
                try
                {
                    changed = await TickAsync(active, stop).ConfigureAwait(false);
                    lastSuccess = DateTimeOffset.UtcNow;
                    lastError = null;
                    if (warnedLost)
                    {
                        warnedLost = false;
                        _options.Warn?.Invoke($"The Ray dashboard at {_client.Address} answers again; RayRunner follows the runs as before.");
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    refresh?.TrySetResult(true);
                    return;
                }
                catch (Exception ex)
                {
                    // Whatever went wrong, the loop must live on: a dead loop would leave every wait hanging.
                    lastError = ex;
                    var silentFor = DateTimeOffset.UtcNow - lastSuccess;
                    _options.Log?.Invoke($"Job status from {_client.Address} failed ({FirstLineOf(ex.Message)}); no answer for {silentFor.TotalSeconds:0} s of the {_options.PollFailureTolerance.TotalSeconds:0} s allowed.");
                    // Say so within seconds: a head that died mid-sweep must never look like a long run.
                    if (!warnedLost && silentFor > _options.HeadLostWarningAfter)
                    {
                        warnedLost = true;
                        _options.Warn?.Invoke(
                            $"The Ray dashboard at {_client.Address} has not answered for {silentFor.TotalSeconds:0} s ({FirstLineOf(ex.Message)}): " +
                            $"{active.Count} run(s) are not being followed. RayRunner keeps asking; if it does not answer within " +
                            $"{_options.PollFailureTolerance.TotalSeconds:0} s, each run it follows fails with this error. Check the head ('ray status').");
                    }
                    if (silentFor > _options.PollFailureTolerance)
                    {
                        var failure = new RayConnectionException(
                            $"The Ray head at {_client.Address} is lost: its dashboard gave no usable job status for {_options.PollFailureTolerance.TotalSeconds:0} s " +
                            $"(the grace period; ${RayBackendOptions.HeadLostGraceVariable} sets it). The run's outcome is unknown; if the head comes back, Get-RayRunStatus asks again. Last error: {ex.Message}",
                            isTimeout: ex is RayConnectionException rc && rc.IsTimeout, ex);
                        foreach (var w in active) w.Terminal.TrySetException(failure);
                        lastSuccess = DateTimeOffset.UtcNow;
                    }
                }
                refresh?.TrySetResult(true);

                var before = interval;
                interval = changed
                    ? _options.PollIntervalMin
                    : TimeSpan.FromTicks(Math.Min(_options.PollIntervalMax.Ticks, (long)(interval.Ticks * 1.5)));
                if (interval == _options.PollIntervalMax && before != interval)
                    _options.Log?.Invoke($"No job status changed for a while: looking every {interval.TotalSeconds:0.##} s (at once again on any change).");
                CurrentInterval = interval;
                var woken = await WaitForWakeAsync(interval, stop).ConfigureAwait(false);
                if (woken == null) return;
                // A new run or an explicit refresh: look closely again (unless the dashboard is failing).
                if (woken == true && lastError == null) interval = _options.PollIntervalMin;
                if (woken == true && await SpaceFromLastTickAsync(stop).ConfigureAwait(false) == null) return;
            }
        }

        /// <summary>
        /// After a wake by a new job: waits out the rest of <see cref="RayBackendOptions.PollIntervalMin"/>
        /// since the last tick began. An explicit refresh (RefreshAsync) is never delayed: it cuts the
        /// wait short. Null when stopping.
        /// </summary>
        async Task<bool?> SpaceFromLastTickAsync(CancellationToken stop)
        {
            while (true)
            {
                lock (_gate)
                {
                    if (_refreshRequested != null) return true;
                }
                var last = Interlocked.Read(ref _lastTickAt);
                if (last == 0) return true;
                var since = TimeSpan.FromSeconds((Stopwatch.GetTimestamp() - last) / (double)Stopwatch.Frequency);
                var rest = _options.PollIntervalMin - since;
                if (rest <= TimeSpan.Zero) return true;
                if (await WaitForWakeAsync(rest, stop).ConfigureAwait(false) == null) return null;
            }
        }

        static string FirstLineOf(string text)
        {
            var nl = text.IndexOf('\n');
            return (nl < 0 ? text : text.Substring(0, nl)).Trim();
        }

        /// <summary>True when woken (a new run, a refresh), false when the delay passed, null when stopping.</summary>
        async Task<bool?> WaitForWakeAsync(TimeSpan delay, CancellationToken stop)
        {
            try
            {
                return await _wake.WaitAsync(delay, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }

        /// <summary>One look at every active job; true when any status changed.</summary>
        async Task<bool> TickAsync(List<JobWatch> active, CancellationToken stop)
        {
            Interlocked.Increment(ref _ticks);
            Interlocked.Exchange(ref _lastTickAt, Stopwatch.GetTimestamp());
            var changed = false;
            var listTooBig = _lastListSize > Math.Max(ListSizeFloor, ListJobsPerActiveRunLimit * active.Count);
            if (active.Count == 1 || listTooBig)
            {
                foreach (var watch in active)
                {
                    Interlocked.Increment(ref _requests);
                    changed |= await LookUpOneAsync(watch, stop).ConfigureAwait(false);
                }
                // Look at the list again now and then: deletes may have shrunk it.
                if (listTooBig && Interlocked.Read(ref _ticks) % 50 == 0) _lastListSize = -1;
                return changed;
            }

            Interlocked.Increment(ref _requests);
            var jobs = await _client.ListJobsAsync(stop).ConfigureAwait(false);
            _lastListSize = jobs.Count;
            var byId = new Dictionary<string, RayJobDetails>(StringComparer.Ordinal);
            foreach (var job in jobs)
                if (job.SubmissionId != null) byId[job.SubmissionId] = job;
            foreach (var watch in active)
            {
                if (byId.TryGetValue(watch.Id, out var details)) changed |= Publish(watch, details);
                else
                {
                    // Not listed: confirm by id before calling it lost (a 404 there is final).
                    Interlocked.Increment(ref _requests);
                    changed |= await LookUpOneAsync(watch, stop).ConfigureAwait(false);
                }
            }
            return changed;
        }

        async Task<bool> LookUpOneAsync(JobWatch watch, CancellationToken stop)
        {
            var details = await _client.GetJobAsync(watch.Id, stop).ConfigureAwait(false);
            if (details == null)
            {
                watch.Terminal.TrySetException(new RayJobNotFoundException(_client.Address, watch.Id));
                return true;
            }
            return Publish(watch, details);
        }

        bool Publish(JobWatch watch, RayJobDetails details)
        {
            var before = watch.Last;
            watch.Last = details;
            NotePending(watch, details);
            if (details.IsTerminal) watch.Terminal.TrySetResult(details);
            return before == null || before.Status != details.Status;
        }

        void NotePending(JobWatch watch, RayJobDetails details)
        {
            if (details.Status != RayJobStatus.Pending)
            {
                watch.PendingSince = null;
                return;
            }
            var now = DateTimeOffset.UtcNow;
            watch.PendingSince ??= now;
            if (watch.WarnedPending || now - watch.PendingSince.Value < _options.PendingWarningAfter) return;
            watch.WarnedPending = true;
            try
            {
                LongPending?.Invoke(watch);
            }
            catch (Exception)
            {
                // A warning must never stop the status loop.
            }
        }

        /// <summary>Ends every wait still open with <paramref name="error"/> (the cluster is gone); finished runs keep their details.</summary>
        public void FailActive(Exception error)
        {
            foreach (var w in _watches.Values) w.Terminal.TrySetException(error);
        }

        public void Dispose()
        {
            _stop.Cancel();
            foreach (var w in _watches.Values)
                w.Terminal.TrySetException(new ObjectDisposedException(nameof(RayJobsBackend), "The Ray backend was shut down while waiting for this run."));
        }
    }
}
