using System;
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
            _ = DeleteWhenSavedAsync(runId, id);
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
                var deleted = await _client.DeleteJobAsync(id, _lifetime).ConfigureAwait(false);
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

        void Say(string message) => _options.Log?.Invoke(message);
    }
}
