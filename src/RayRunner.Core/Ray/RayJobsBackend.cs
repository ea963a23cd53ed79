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
    public sealed class RayJobsBackend : IRayBackend, IClusterLifecycle, IDisposable
    {
        public const string BackendName = "ray";
        public const string DefaultAddress = "http://127.0.0.1:8265";
        public const string LocatorAddress = "address";
        public const string LocatorSubmissionId = "submission_id";

        readonly RayBackendOptions _options;
        readonly RayJobsClient _client;
        readonly RayJobPoller _poller;
        readonly WorkingDirUploader _uploader;
        readonly RayJobOutcomeReader _outcomes;
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
            _outcomes = new RayJobOutcomeReader(_client, options, Address, _lifetime.Token);
            Abilities = new BackendAbilities { KeepsRunRecords = true, Cluster = this, SendsToken = HasToken };
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

        // ----------------------------------------------------------------------------------
        // Static helpers used by BackendFactory (see RayDashboard)
        // ----------------------------------------------------------------------------------

        /// <summary>The dashboard URL: the parameter, else RAY_API_SERVER_ADDRESS / RAY_ADDRESS when http(s), else http://127.0.0.1:8265.</summary>
        public static string ResolveAddress(string? parameter, Func<string, string?> env) => RayDashboard.ResolveAddress(parameter, env, 8265);

        /// <summary>The <c>ray</c> command on this process's PATH, or null.</summary>
        public static string? FindRayOnPath() => RayCli.FindOnPath(Environment.GetEnvironmentVariable);

        /// <summary>Does a Ray dashboard answer GET /api/version at the options' address (a 401/403 counts: something is there)?</summary>
        public static Task<bool> ProbeAsync(RayBackendOptions options, CancellationToken ct) => RayDashboard.ProbeAsync(options, ct);

        static Task<bool> ProbeAsync(RayJobsClient client, TimeSpan timeout, CancellationToken ct) => RayDashboard.AnswersAsync(client, timeout, ct);

        // ----------------------------------------------------------------------------------
        // Availability and lifecycle
        // ----------------------------------------------------------------------------------

        public bool IsAvailable
        {
            get
            {
                EnsureAvailabilityChecked();
                return _available!.Value;
            }
        }

        public string? UnavailableReason
        {
            get
            {
                EnsureAvailabilityChecked();
                return _unavailableReason;
            }
        }

        void EnsureAvailabilityChecked()
        {
            if (_available.HasValue) return;
            // tmgg's availability check is a synchronous property; the probe is bounded by ProbeTimeout
            // and ends with the backend (its lifetime), and runs once.
            if (IsInitialized || ProbeAsync(_client, _options.ProbeTimeout, _lifetime.Token).GetAwaiter().GetResult())
            {
                _available = true;
                return;
            }
            // Ray is installed: available, even with NoAutoStart (InitAsync then explains that nothing answers).
            // With NoAutoStart the ray command is never used, so its absence is not the problem: the
            // cluster at the address is unreachable, which InitAsync reports as a connect failure.
            _rayExecutable = FindRayExecutable();
            if (_rayExecutable != null || _options.NoAutoStart)
            {
                _available = true;
                return;
            }
            _unavailableReason = $"nothing answered GET /api/version at {Address}, and {DescribeRaySearch()}";
            _available = false;
        }

        string? FindRayExecutable()
        {
            if (!string.IsNullOrEmpty(_options.RayCommand))
                return System.IO.File.Exists(_options.RayCommand) ? _options.RayCommand : null;
            return RayCli.FindOnPath(_options.Environment);
        }

        string DescribeRaySearch() =>
            !string.IsNullOrEmpty(_options.RayCommand)
                ? $"the ray command given ('{_options.RayCommand}') does not exist"
                : $"no 'ray' command was found in the {RayCli.PathFolderCount(_options.Environment)} folders of PATH";

        /// <summary>
        /// Connects to the dashboard; when nothing answers and auto-start is allowed, starts a local
        /// head with <c>ray start --head</c> and waits until it serves the Jobs API. Calling it again
        /// once initialized does nothing (tmgg's ignore_reinit_error).
        /// </summary>
        public async Task InitAsync(ClusterOptions options, CancellationToken cancellationToken)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (IsInitialized) return;

            if (await ProbeAsync(_client, _options.ProbeTimeout, cancellationToken).ConfigureAwait(false))
            {
                await ConnectAsync(cancellationToken).ConfigureAwait(false);
                AdoptHeadOfAnEndedSession();
                _clusterResources = RaySubmitRequest.ParseClusterResources(await _client.GetClusterStatusTextAsync(cancellationToken).ConfigureAwait(false));
                IsInitialized = true;
                _available = true;
                return;
            }

            // Nothing answers: a head recorded as started by RayRunner is gone (stopped by hand, machine restarted).
            _options.StartedHeads?.Forget(Address);
            if (_options.NoAutoStart)
                throw new RayClusterException($"No Ray dashboard answered at {Address}, and starting a local cluster is turned off (NoAutoStart). Start one with 'ray start --head', or give the address of a running cluster.");
            if (!RayLocalHead.IsLoopback(Address))
                throw new RayClusterException($"No Ray dashboard answered at {Address}. RayRunner starts a cluster only on this machine (127.0.0.1/localhost); check the address and that the remote cluster is up.");

            var ray = _rayExecutable ?? FindRayExecutable();
            if (ray == null) throw new RayNotInstalledException($"nothing answered at {Address} and {DescribeRaySearch()}");

            await StartLocalClusterAsync(ray, options, cancellationToken).ConfigureAwait(false);
            IsInitialized = true;
            _available = true;
        }

        /// <summary>
        /// <c>ray start --head</c>, then waits until the dashboard serves the Jobs API. The cluster
        /// counts as started by RayRunner as soon as the command succeeded, so a shutdown stops it
        /// even when the dashboard never came up.
        /// </summary>
        async Task StartLocalClusterAsync(string ray, ClusterOptions cluster, CancellationToken ct)
        {
            var since = DateTimeOffset.UtcNow;
            var head = await RayLocalHead.StartAsync(ray, Address, cluster, _options, ct).ConfigureAwait(false);
            StartedCluster = true;
            _options.StartedHeads?.Record(Address);
            _clusterResources = cluster.Resources.ToDictionary(kv => kv.Key, kv => kv.Value);
            await RayLocalHead.WaitForDashboardAsync(Address, head, since, _options, c => ProbeAsync(_client, _options.ProbeTimeout, c), ct).ConfigureAwait(false);
            await ConnectAsync(ct).ConfigureAwait(false);
            Say($"Started a local Ray cluster (dashboard {Address}); RayRunner will stop it on shutdown.");
        }

        /// <summary>
        /// A head that answers may be one RayRunner started in a session that has since ended
        /// without stopping it (a closed window, a crashed runbook). Such a head is nobody's: this
        /// backend takes it over, so its shutdown stops it. A head whose starting session is still
        /// alive stays that session's, and one RayRunner never started is never stopped.
        /// </summary>
        void AdoptHeadOfAnEndedSession()
        {
            var ledger = _options.StartedHeads;
            if (ledger == null) return;
            switch (ledger.OwnerOf(Address, out var who))
            {
                case StartedHeadOwner.EndedSession:
                    StartedCluster = true;
                    ledger.Record(Address);
                    Say($"The local Ray cluster at {Address} was started by a RayRunner session that has ended ({who}); this session takes it over and stops it on Disconnect-RayCluster.");
                    break;
                case StartedHeadOwner.LiveSession:
                    Say($"The local Ray cluster at {Address} was started by another RayRunner session that is still running ({who}); that session stops it, this one leaves it running.");
                    break;
            }
        }

        /// <summary>The version handshake, once: learns which request fields the server knows.</summary>
        async Task<RayVersionInfo> ConnectAsync(CancellationToken ct)
        {
            var current = _connected;
            if (current != null && current.Status == TaskStatus.RanToCompletion) return current.Result;
            await _connectGate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (_connected == null || _connected.Status != TaskStatus.RanToCompletion)
                {
                    RayVersionInfo version = null!;
                    for (var attempt = 0; ; attempt++)
                    {
                        try
                        {
                            version = await _client.GetVersionAsync(_options.RequestTimeout, ct).ConfigureAwait(false);
                            break;
                        }
                        catch (Exception ex) when (attempt < _options.MaxRetries && RayJobsClient.IsTransient(ex) && !ct.IsCancellationRequested)
                        {
                            await Task.Delay(_options.RetryDelay, ct).ConfigureAwait(false);
                        }
                    }
                    if (!version.SupportsJobs)
                        throw new NotSupportedException($"The Ray cluster at {Address} runs Ray {version.RayVersion}, which has no Jobs API (Ray 1.9+; RayRunner needs 2.0+).");
                    _connected = Task.FromResult(version);
                }
                return _connected.Result;
            }
            finally
            {
                _connectGate.Release();
            }
        }

        /// <summary>
        /// ray.shutdown(): runs <c>ray stop</c> only when this backend started the cluster, and says
        /// which it did in <see cref="ShutdownMessage"/>. Runs on a cluster it did not start keep
        /// going and can still be waited for; runs on a cluster it stopped end with a clear error.
        /// </summary>
        public async Task ShutdownAsync(CancellationToken cancellationToken)
        {
            IsInitialized = false;
            if (!StartedCluster)
            {
                ShutdownMessage = $"Left the Ray cluster at {Address} running: RayRunner did not start it.";
                Say(ShutdownMessage);
                return;
            }
            var ray = _rayExecutable ?? FindRayExecutable()
                ?? throw new RayClusterException($"RayRunner started the local Ray cluster at {Address} but can no longer find the 'ray' command to stop it. Run 'ray stop' yourself.");
            var result = await RayCli.RunAsync(ray, new[] { "stop" }, _options.ShutdownTimeout, cancellationToken).ConfigureAwait(false);
            if (result.TimedOut || result.ExitCode != 0)
                throw new RayClusterException($"'ray stop' {(result.TimedOut ? "did not finish in time" : $"failed with exit code {result.ExitCode}")}; the local cluster may still run. Its output:{RayLocalHead.Indent(result.Output)}", result.Output);
            StartedCluster = false;
            _options.StartedHeads?.Forget(Address);
            _connected = null;
            _available = null;
            _poller.FailActive(new RayClusterException($"The local Ray cluster at {Address} was stopped (ray stop) while this run was active; Ray keeps no job records after a stop."));
            ShutdownMessage = $"Stopped the local Ray cluster at {Address} that RayRunner started (ray stop).";
            Say(ShutdownMessage);
        }

        void Say(string message) => _options.Log?.Invoke(message);

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
            var outcome = await _client.SubmitJobAsync(spec.SubmissionId, body, cancellationToken).ConfigureAwait(false);
            if (outcome == SubmitOutcome.AlreadySubmitted)
                await EnsureSameJobAsync(spec, cancellationToken).ConfigureAwait(false);
            var taskRef = new TaskRef(Name, spec.SubmissionId, new Dictionary<string, string>
            {
                [LocatorAddress] = Address,
                [LocatorSubmissionId] = spec.SubmissionId,
            });
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

            if (timeout != TimeSpan.Zero && watches.Count(w => w.IsDone) < numReturns)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var deadline = Task.Delay(timeout ?? Timeout.InfiniteTimeSpan, cts.Token);
                while (watches.Count(w => w.IsDone) < numReturns)
                {
                    var pending = watches.Where(w => !w.IsDone).Select(w => (Task)w.Terminal.Task).ToList();
                    pending.Add(deadline);
                    var first = await Task.WhenAny(pending).ConfigureAwait(false);
                    if (first == deadline)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        break;
                    }
                }
                cts.Cancel();
            }

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
                    if (watch.Last?.Status == RayJobStatus.Running && await _client.StopJobAsync(id, CancellationToken.None).ConfigureAwait(false) != false)
                        return; // the supervisor now signals the driver; the poller reports the end
                    await Task.WhenAny(watch.Terminal.Task, Task.Delay(pause)).ConfigureAwait(false);
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

        public override string ToString() => $"RayJobsBackend({Address}{(StartedCluster ? ", started by RayRunner" : "")})";

        public void Dispose()
        {
            _lifetime.Cancel();
            _poller.Dispose();
            _client.Dispose();
        }
    }
}
