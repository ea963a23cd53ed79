using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// Keeps the head healthy: deletes a run's job (DELETE /api/jobs/{id}) once the run store holds
    /// both its result (the runner says so through <see cref="BackendAbilities.ResultStored"/>) and
    /// its whole log (<see cref="RayLogArchive"/>). Nothing is deleted before it is saved; a delete
    /// that fails is a note for -Verbose, and the job simply stays on the head.
    /// </summary>
    internal sealed class RayJobJanitor
    {
        readonly RayJobsClient _client;
        readonly RayJobPoller _poller;
        readonly RayLogArchive _logs;
        readonly RayBackendOptions _options;
        readonly Func<CancellationToken, Task<RayVersionInfo>> _connect;
        readonly CancellationToken _lifetime;
        int _deleted;
        readonly ConcurrentDictionary<Task, bool> _inFlight = new ConcurrentDictionary<Task, bool>();

        public RayJobJanitor(RayJobsClient client, RayJobPoller poller, RayLogArchive logs, RayBackendOptions options,
            Func<CancellationToken, Task<RayVersionInfo>> connect, CancellationToken lifetime)
        {
            _client = client;
            _poller = poller;
            _logs = logs;
            _options = options;
            _connect = connect;
            _lifetime = lifetime;
        }

        /// <summary>Jobs this backend deleted.</summary>
        public int Deleted => Volatile.Read(ref _deleted);

        /// <summary>The run's result is in the run store: delete its job once it is over and its log is kept too. Returns at once.</summary>
        public void ResultStored(string runId, string id)
        {
            if (_options.KeepJobs) return;
            var task = DeleteWhenSavedAsync(runId, id);
            _inFlight[task] = true;
            _ = task.ContinueWith(t => _inFlight.TryRemove(t, out _), TaskScheduler.Default);
        }

        /// <summary>
        /// Waits (up to <paramref name="bound"/>) for the deletes under way, so a disconnect right
        /// after the last result does not leave those jobs behind. Returns how many were still going.
        /// </summary>
        public async Task<int> DrainAsync(TimeSpan bound, CancellationToken ct)
        {
            var pending = _inFlight.Keys.ToList();
            if (pending.Count == 0) return 0;
            await Waits.EndsFirstAsync(Task.WhenAll(pending), ct, timeout: bound).ConfigureAwait(false);
            return pending.Count(t => !t.IsCompleted);
        }

        /// <summary>The delete itself, for tests to await.</summary>
        internal async Task<bool> DeleteWhenSavedAsync(string runId, string id)
        {
            try
            {
                if (_logs.PathFor(runId) == null)
                {
                    Say($"Kept Ray job {id} on the head: there is no run store to keep its log in.");
                    return false;
                }
                // A cancelled run is recorded at once, while its job may still be stopping: only an
                // ended job can be deleted (the dashboard refuses others), and only an ended job's log is whole.
                var watch = _poller.Track(id);
                if (!await Waits.EndsFirstAsync(watch.Terminal.Task, _lifetime).ConfigureAwait(false)) return false;
                await watch.Terminal.Task.ConfigureAwait(false);
                var log = await _logs.ReadAndKeepAsync(runId, id).ConfigureAwait(false);
                if (log.KeptAt == null)
                {
                    Say($"Kept Ray job {id} on the head: its log could not be saved in the run store.");
                    return false;
                }
                var version = await _connect(_lifetime).ConfigureAwait(false);
                if (!version.SupportsDelete)
                {
                    Say($"Kept Ray job {id} on the head: Ray {version.RayVersion} cannot delete jobs (Jobs API version 4 is needed).");
                    return false;
                }
                var deleted = await DeleteEndedJobAsync(id).ConfigureAwait(false);
                if (deleted == true) Interlocked.Increment(ref _deleted);
                Say(deleted == null
                    ? $"Ray job {id} was already gone from the head; its result and log are in the run store."
                    : $"Deleted Ray job {id} from the head: its result and log are in the run store (Connect-RayCluster -KeepJobs keeps jobs).");
                return deleted != false;
            }
            catch (Exception ex)
            {
                if (!_lifetime.IsCancellationRequested)
                    Say($"Could not delete Ray job {id} from the head ({ex.GetBaseException().Message}); it stays there, and nothing of the run is lost.");
                return false;
            }
        }

        /// <summary>
        /// DELETE of a job known to have ended. The client does not retry a 500 (for a job still
        /// running it is final), but this job has ended, so a 500 here is the head's trouble: try again.
        /// </summary>
        async Task<bool?> DeleteEndedJobAsync(string id)
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    return await _client.DeleteJobAsync(id, _lifetime).ConfigureAwait(false);
                }
                catch (RayApiException ex) when (ex.StatusCode >= 500 && attempt < _options.MaxRetries)
                {
                    var delay = TimeSpan.FromMilliseconds(Math.Min(5000, _options.RetryDelay.TotalMilliseconds * Math.Pow(2, attempt)));
                    Say($"Deleting the ended Ray job {id} failed ({ex.Message}); trying again in {delay.TotalSeconds:0.##} s (try {attempt + 2} of {_options.MaxRetries + 1}).");
                    await Task.Delay(delay, _lifetime).ConfigureAwait(false);
                }
            }
        }

        void Say(string message) => _options.Log?.Invoke(message);
    }
}
