using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// The Ray implementation of the backend seam: one run is one Ray job, submitted through the
    /// dashboard's Job Submission REST API (submission_id = run id), watched by one status poller,
    /// its result read from the job's log. Starts a local head with <c>ray start --head</c> when
    /// nothing answers (unless told not to) and stops only a cluster it started.
    /// </summary>
    public sealed partial class RayJobsBackend : IRayBackend, IClusterLifecycle, IDisposable
    {
        public const string BackendName = "ray";
        public const string DefaultAddress = "http://127.0.0.1:8265";
        public const string LocatorAddress = "address";
        public const string LocatorSubmissionId = "submission_id";
        /// <summary>The run store's file that holds the log once the job has ended (the same key the local backend uses).</summary>
        public const string LocatorLog = "log";

        readonly RayBackendOptions _options;
        readonly RayJobsClient _client;
        readonly RayJobPoller _poller;
        readonly WorkingDirUploader _uploader;
        readonly RayJobOutcomeReader _outcomes;
        readonly RayLogArchive _logs;
        readonly RayJobJanitor _janitor;
        readonly RayPendingWarning _pending;
        /// <summary>Ends background reads of job logs when the backend is disposed.</summary>
        readonly CancellationTokenSource _lifetime = new CancellationTokenSource();
        readonly ConcurrentDictionary<string, Lazy<Task<TaskOutput>>> _results = new ConcurrentDictionary<string, Lazy<Task<TaskOutput>>>(StringComparer.Ordinal);
        readonly SemaphoreSlim _connectGate = new SemaphoreSlim(1, 1);
        Task<RayVersionInfo>? _connected;
        IReadOnlyDictionary<string, double> _clusterResources = new Dictionary<string, double>();
        bool? _available;
        string? _unavailableReason;
        string? _rayExecutable;

        public RayJobsBackend(RayBackendOptions options)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            Address = RayDashboard.ResolveAddress(options.Address, options.Environment, options.DashboardPort);
            var token = RayAuth.ResolveToken(options.Token, options.Environment);
            HasToken = token != null;
            _client = new RayJobsClient(Address, token, options);
            _poller = new RayJobPoller(_client, options);
            _uploader = new WorkingDirUploader(_client, options, _lifetime.Token);
            _logs = new RayLogArchive(_client, options, Address, _lifetime.Token);
            _outcomes = new RayJobOutcomeReader(_logs);
            _janitor = new RayJobJanitor(_client, _poller, _logs, options, ConnectAsync, _lifetime.Token);
            _pending = new RayPendingWarning(_client, options, _lifetime.Token);
            _poller.LongPending = _pending.Warn;
            Abilities = new BackendAbilities { KeepsRunRecords = true, Cluster = this, SendsToken = HasToken, ResultStored = ResultStored };
        }

        public string Name => BackendName;
        public string Address { get; }

        /// <summary>
        /// Whether requests carry a token: the caller's, or one Ray's own rules found (RAY_AUTH_TOKEN,
        /// RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token). Says nothing about the token itself.
        /// </summary>
        public bool HasToken { get; }
        public bool IsInitialized { get; private set; }

        /// <summary>True once this backend ran <c>ray start --head</c> successfully; only then does shutdown run <c>ray stop</c>.</summary>
        public bool StartedCluster { get; private set; }

        /// <summary>Ray keeps job records (RemoveAsync deletes them) and may start the cluster it uses.</summary>
        public BackendAbilities Abilities { get; }

        /// <summary>What the last shutdown did, in a sentence ("Stopped the local Ray cluster…", "Left the Ray cluster … running…").</summary>
        public string? ShutdownMessage { get; private set; }

        /// <summary>The Ray version the dashboard reported, once connected.</summary>
        public RayVersionInfo? ServerVersion => _connected is { IsCompleted: true } t && t.Status == TaskStatus.RanToCompletion ? t.Result : null;

        /// <summary>Whether submits ask for one <c>experiment_slot</c> (only when the cluster has that resource).</summary>
        public bool UsesExperimentSlots => _clusterResources.ContainsKey(ClusterOptions.ExperimentSlotResource);

        /// <summary>Working-directory packages uploaded so far (a sweep of one folder uploads once).</summary>
        public int PackagesUploaded => Volatile.Read(ref _uploader.Uploads);

        internal RayJobPoller Poller => _poller;
        internal RayJobsClient Client => _client;
        internal RayJobJanitor Janitor => _janitor;

        // ----------------------------------------------------------------------------------
        // Runs
        // ----------------------------------------------------------------------------------

        /// <summary>
        /// Submits the run as a Ray job with submission_id = the attempt's id (the run id for the first), exactly once: a duplicate-id
        /// answer, or the job found by id after a lost response, counts as submitted.
        /// </summary>
        public async Task<TaskRef> SubmitAsync(TaskSpec spec, TaskOptions options, CancellationToken cancellationToken)
        {
            if (spec == null) throw new ArgumentNullException(nameof(spec));
            if (options == null) throw new ArgumentNullException(nameof(options));
            RunIds.Validate(spec.SubmissionId, nameof(spec));
            var version = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            string? workingDir = null;
            if (!string.IsNullOrEmpty(spec.WorkingDirectory))
                workingDir = await _uploader.EnsureUploadedAsync(spec.WorkingDirectory!, cancellationToken).ConfigureAwait(false);
            var body = RaySubmitRequest.Build(spec, options, version, workingDir, name => _clusterResources.ContainsKey(name));
            _pending.Asked(spec.SubmissionId, options);
            var outcome = await _client.SubmitJobAsync(spec.SubmissionId, body, cancellationToken).ConfigureAwait(false);
            if (outcome == SubmitOutcome.AlreadySubmitted)
                await EnsureSameJobAsync(spec, cancellationToken).ConfigureAwait(false);
            var locator = new Dictionary<string, string>
            {
                [LocatorAddress] = Address,
                [LocatorSubmissionId] = spec.SubmissionId,
            };
            // Where the log will be kept once the job is over, so any session reads it without
            // connecting (an attempt's log goes beside its run's: the store maps <runid>-aN).
            if (_logs.PathFor(spec.SubmissionId) is { } logPath) locator[LocatorLog] = logPath;
            var taskRef = new TaskRef(Name, spec.SubmissionId, locator);
            // A look-up before this submission (a WaitAsync by run id after a crash) may have ended the
            // watch with "no such job": the job exists now, so watch it afresh.
            _poller.ForgetIfNotFound(spec.SubmissionId);
            _poller.Track(spec.SubmissionId);
            return taskRef;
        }

        /// <summary>
        /// "Already submitted" must mean this run, not another job that happens to hold the id (an
        /// id reused across runners on a shared cluster): the entrypoints must match.
        /// </summary>
        async Task EnsureSameJobAsync(TaskSpec spec, CancellationToken ct)
        {
            var existing = await _client.GetJobAsync(spec.SubmissionId, ct).ConfigureAwait(false);
            var ours = EntrypointTemplate.ToPosixShell(spec.Arguments());
            if (existing != null && existing.Entrypoint != null && existing.Entrypoint != ours)
                throw new InvalidOperationException($"The Ray cluster at {Address} already has a different job with submission id '{spec.SubmissionId}'. Ray ids cannot be reused: give this run another id (or leave -RunId out).");
        }

        string SubmissionIdOf(TaskRef task)
        {
            if (task == null) throw new ArgumentNullException(nameof(task));
            if (task.Locator.TryGetValue(LocatorAddress, out var address) && !SameAddress(address, Address))
                throw new InvalidOperationException($"Run '{task.RunId}' was submitted to the Ray cluster at {address}, but this backend talks to {Address}. Connect to {address} to reach it.");
            return task.Locator.TryGetValue(LocatorSubmissionId, out var id) && !string.IsNullOrEmpty(id) ? id : task.RunId;
        }

        static bool SameAddress(string a, string b) => string.Equals(a.TrimEnd('/'), b.TrimEnd('/'), StringComparison.OrdinalIgnoreCase);

        /// <summary>Waits (through the poller) until the job is over, then reads its result; the result is read once and remembered.</summary>
        public async Task<TaskOutput> GetAsync(TaskRef task, CancellationToken cancellationToken)
        {
            var id = SubmissionIdOf(task);
            var watch = _poller.Track(id);
            var details = await Waits.WithCancellation(watch.Terminal.Task, cancellationToken).ConfigureAwait(false);
            var lazy = _results.GetOrAdd(id, _ => new Lazy<Task<TaskOutput>>(() => _outcomes.BuildAsync(task.RunId, id, details)));
            try
            {
                return await Waits.WithCancellation(lazy.Value, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (lazy.Value.IsFaulted)
            {
                _results.TryRemove(id, out _); // a later call may try again
                throw;
            }
        }

        /// <summary>ray.wait: served from the poller. A timeout of zero answers from what is known (after one fresh look at runs never seen).</summary>
        public async Task<WaitResult> WaitAsync(IReadOnlyList<TaskRef> tasks, int numReturns, TimeSpan? timeout, CancellationToken cancellationToken)
        {
            if (tasks == null) throw new ArgumentNullException(nameof(tasks));
            var watches = tasks.Select(t => _poller.Track(SubmissionIdOf(t))).ToList();
            numReturns = Math.Max(0, Math.Min(numReturns, watches.Count));
            if (watches.Any(w => w.Last == null && !w.IsDone))
                await _poller.RefreshAsync(cancellationToken).ConfigureAwait(false);

            if (timeout != TimeSpan.Zero)
                await Waits.UntilEnoughEndAsync(watches.Select(w => (Task)w.Terminal.Task), numReturns, timeout, cancellationToken).ConfigureAwait(false);

            var ready = new List<TaskRef>();
            var notReady = new List<TaskRef>();
            var phases = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < tasks.Count; i++)
            {
                if (watches[i].IsDone) ready.Add(tasks[i]);
                else
                {
                    notReady.Add(tasks[i]);
                    var status = watches[i].Last?.Status;
                    phases[tasks[i].RunId] = status == RayJobStatus.Running ? RunStatus.Running : RunStatus.Pending;
                }
            }
            return new WaitResult(ready, notReady, phases);
        }

        /// <summary>
        /// Stops the job (Ray sends SIGTERM, then SIGKILL after 3 s). A <c>stopped:false</c> answer for
        /// a job that is already over is success (KubeRay's rule); so is a job the cluster no longer has.
        /// A job still PENDING after a stop Ray accepted is stopped again once it starts (ray#58353).
        /// </summary>
        public async Task CancelAsync(TaskRef task, CancellationToken cancellationToken)
        {
            var id = SubmissionIdOf(task);
            for (var attempt = 0; ; attempt++)
            {
                var stopped = await _client.StopJobAsync(id, cancellationToken).ConfigureAwait(false);
                if (stopped == null) break; // no such job: nothing runs
                var details = await _client.GetJobAsync(id, cancellationToken).ConfigureAwait(false);
                if (stopped == true)
                {
                    // ray#58353: a stop of a PENDING job can answer true and do nothing, and the job
                    // would start later anyway. Watch it and stop it again once it runs.
                    if (details != null && details.Status == RayJobStatus.Pending) _ = StopOnceStartedAsync(id);
                    break;
                }
                if (details == null || details.IsTerminal) break;
                // Not over, yet no supervisor to stop: it is being set up (or PENDING, ray#58353). Ask again shortly.
                if (attempt >= _options.MaxRetries)
                    throw new InvalidOperationException($"The Ray job '{id}' is {details.Status} and did not accept a stop after {attempt + 1} tries. Try again, or stop it with 'ray job stop {id}'.");
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, _options.RetryDelay.TotalMilliseconds * (attempt + 1))), cancellationToken).ConfigureAwait(false);
            }
            _poller.Track(id);
            _ = _poller.RefreshAsync(_lifetime.Token);
        }

        /// <summary>Sends the stop again when a job Ray was told to stop while PENDING shows up RUNNING; ends when the job is over.</summary>
        async Task StopOnceStartedAsync(string id)
        {
            var watch = _poller.Track(id);
            var pause = TimeSpan.FromMilliseconds(Math.Max(20, _options.PollIntervalMin.TotalMilliseconds));
            try
            {
                while (!watch.IsDone)
                {
                    if (watch.Last?.Status == RayJobStatus.Running && await _client.StopJobAsync(id, _lifetime.Token).ConfigureAwait(false) != false)
                        return; // the supervisor now signals the driver; the poller reports the end
                    await Task.WhenAny(watch.Terminal.Task, Task.Delay(pause, _lifetime.Token)).ConfigureAwait(false);
                    _lifetime.Token.ThrowIfCancellationRequested();
                }
            }
            catch (Exception)
            {
                // The dashboard is unreachable or the backend was disposed: the run's wait reports that.
            }
        }

        /// <summary>Deletes a finished job's record from the cluster (its log file stays on the node). A job that is not over is refused.</summary>
        public async Task RemoveAsync(TaskRef task, CancellationToken cancellationToken)
        {
            var id = SubmissionIdOf(task);
            var version = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            if (!version.SupportsDelete)
                throw new NotSupportedException($"The Ray cluster at {Address} runs Ray {version.RayVersion} (Jobs API {version.ApiVersion}), which cannot delete jobs (API version 4 is needed).");
            var details = await _client.GetJobAsync(id, cancellationToken).ConfigureAwait(false);
            if (details == null)
            {
                _poller.Forget(id);
                return;
            }
            if (!details.IsTerminal)
                throw new InvalidOperationException($"Run '{task.RunId}' is still {details.Status.ToLowerInvariant()} on the Ray cluster; stop it first (cancel), then remove it.");
            await _client.DeleteJobAsync(id, cancellationToken).ConfigureAwait(false);
            _poller.Forget(id);
            _results.TryRemove(id, out _);
        }

        /// <summary>
        /// The job's log. With a tail, it streams through the tail WebSocket keeping only the last
        /// lines (for a running job it returns once no new output came for
        /// <see cref="RayBackendOptions.TailIdleCutoff"/>); without one it is GET /logs, which the
        /// dashboard answers with the whole file (read up to <see cref="RayBackendOptions.LogFallbackMaxBytes"/>).
        /// </summary>
        public async Task<string> ReadLogAsync(TaskRef task, int? tailLines, CancellationToken cancellationToken)
        {
            var id = SubmissionIdOf(task);
            // Once the job is over its whole log is in the run store: read it there (the job may be deleted, the head stopped).
            if (KeptLog.Read(_logs.PathFor(task.RunId), tailLines) is { } kept) return kept;
            if (tailLines == null)
                return await _client.GetLogsAsync(id, _options.LogFallbackMaxBytes, cancellationToken).ConfigureAwait(false)
                    ?? throw new RayJobNotFoundException(Address, id);
            if (tailLines <= 0) return "";
            var details = await _client.GetJobAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new RayJobNotFoundException(Address, id);
            var scanner = new LogLineScanner(tailLines.Value);
            var closed = await _client.TailLogsAsync(id, scanner.Feed, details.IsTerminal ? (TimeSpan?)null : _options.TailIdleCutoff, cancellationToken).ConfigureAwait(false);
            if (closed) scanner.Complete();
            return scanner.TailText();
        }

        /// <summary>The runner saved the run's result: delete its job once its log is kept too (unless KeepJobs).</summary>
        void ResultStored(TaskRef task)
        {
            if (task.Locator.TryGetValue(LocatorAddress, out var address) && !SameAddress(address, Address)) return;
            _janitor.ResultStored(task.RunId, task.Locator.TryGetValue(LocatorSubmissionId, out var id) && !string.IsNullOrEmpty(id) ? id : task.RunId);
        }

        public override string ToString() => $"RayJobsBackend({Address}{(StartedCluster ? ", started by RayRunner" : "")})";

        public void Dispose()
        {
            _lifetime.Cancel();
            _poller.Dispose();
            _client.Dispose();
        }
    }
}
