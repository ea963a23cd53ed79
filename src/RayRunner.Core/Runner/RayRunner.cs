using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// Runs experiment configs in parallel on a backend, with the semantics of tmgg's Python
    /// <c>RayRunner</c>: spawn (non-blocking), run (blocking), sweeps, status, cancel, shutdown.
    /// </summary>
    /// <remarks>
    /// Beyond tmgg: runs beyond <see cref="MaxConcurrent"/> are held here as <c>queued</c> and handed
    /// to the backend in submission order as slots free up (Ray Jobs have no queue of their own);
    /// the per-run timeout is enforced (the run is stopped and reported as <c>timeout</c>); every
    /// public member is safe to call from several threads at once. The limit is per runner, never
    /// global to the process. Async members take a CancellationToken; the synchronous ones keep
    /// tmgg's shape for callers that want it.
    /// </remarks>
    public sealed class RayRunner : IDisposable
    {
        public const string ExperimentSlotResource = "experiment_slot";

        readonly IRayBackend _backend;
        readonly RayRunnerOptions _options;
        readonly IRunStore _store;
        readonly ConcurrentDictionary<string, TrackedRun> _active = new ConcurrentDictionary<string, TrackedRun>(StringComparer.Ordinal);
        readonly object _gate = new object();
        readonly LinkedList<TrackedRun> _queue = new LinkedList<TrackedRun>();
        readonly CancellationTokenSource _lifetime = new CancellationTokenSource();
        int _inFlight;

        /// <summary>tmgg's constructor: checks the backend is available and initializes it unless it already is.</summary>
        public RayRunner(IRayBackend backend, int maxConcurrent = 4, double numGpusPerTask = 0.0, int numCpusPerTask = 1)
            : this(backend, new RayRunnerOptions { MaxConcurrent = maxConcurrent, NumGpusPerTask = numGpusPerTask, NumCpusPerTask = numCpusPerTask })
        {
        }

        public RayRunner(IRayBackend backend, RayRunnerOptions options)
            : this(backend, options, deferInitialization: true)
        {
            InitializeBackendAsync(CancellationToken.None).GetAwaiter().GetResult();
        }

        /// <summary>Checks only; the public constructors and <see cref="CreateAsync"/> then initialize the backend.</summary>
        RayRunner(IRayBackend backend, RayRunnerOptions options, bool deferInitialization)
        {
            _backend = backend ?? throw new ArgumentNullException(nameof(backend));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            _options.Validate();
            _store = options.Store ?? new InMemoryRunStore();
            EnsureRayAvailable(backend);
        }

        /// <summary>The async constructor: the same checks, without blocking a thread on cluster start-up.</summary>
        public static async Task<RayRunner> CreateAsync(IRayBackend backend, RayRunnerOptions? options = null, CancellationToken cancellationToken = default)
        {
            var runner = new RayRunner(backend, options ?? new RayRunnerOptions(), deferInitialization: true);
            await runner.InitializeBackendAsync(cancellationToken).ConfigureAwait(false);
            return runner;
        }

        public int MaxConcurrent => _options.MaxConcurrent;
        public double NumGpusPerTask => _options.NumGpusPerTask;
        public int NumCpusPerTask => _options.NumCpusPerTask;
        public IRayBackend Backend => _backend;
        public IRunStore Store => _store;

        /// <summary>RayRunner supports detached (spawn) execution.</summary>
        public bool SupportsSpawn => true;

        /// <summary>Run ids the runner tracks right now (tmgg's _active_runs keys).</summary>
        public IReadOnlyCollection<string> ActiveRunIds => _active.Keys.ToList();

        public bool IsTracked(string runId) => runId != null && _active.ContainsKey(runId);

        /// <summary>tmgg's _ensure_ray_available.</summary>
        public static void EnsureRayAvailable(IRayBackend backend)
        {
            if (backend == null) throw new ArgumentNullException(nameof(backend));
            if (!backend.IsAvailable) throw new RayNotInstalledException(backend.UnavailableReason);
        }

        async Task InitializeBackendAsync(CancellationToken cancellationToken)
        {
            // tmgg: "Auto-init if not connected", with a custom resource for concurrency control.
            if (_backend.IsInitialized) return;
            var options = new ClusterOptions
            {
                Resources = new Dictionary<string, double> { [ExperimentSlotResource] = _options.MaxConcurrent },
                IgnoreReinitError = true,
            };
            await _backend.InitAsync(options, cancellationToken).ConfigureAwait(false);
        }

        // ----------------------------------------------------------------------------------
        // Spawn (detached)
        // ----------------------------------------------------------------------------------

        public RaySpawnedTask SpawnExperiment(object config, int timeoutSeconds = 3600) =>
            SpawnExperimentAsync(config, new RunRequest { TimeoutSeconds = timeoutSeconds }).GetAwaiter().GetResult();

        /// <summary>
        /// Starts one run and returns at once. The run gets a fresh 8-hex-character id (a
        /// <c>run_id</c> key in the config is ignored, as in tmgg) unless the request names one.
        /// If the backend refuses the submission, nothing is left behind and the error is thrown.
        /// </summary>
        public async Task<RaySpawnedTask> SpawnExperimentAsync(object config, RunRequest? request = null, CancellationToken cancellationToken = default)
        {
            request ??= RunRequest.Default;
            var run = Prepare(config, request, request.RunId);
            return await StartAsync(run, cancellationToken).ConfigureAwait(false);
        }

        public IReadOnlyList<RaySpawnedTask> SpawnSweep(IEnumerable<object> configs, int timeoutSeconds = 3600) =>
            SpawnSweepAsync(configs, new RunRequest { TimeoutSeconds = timeoutSeconds }).GetAwaiter().GetResult();

        /// <summary>
        /// Starts one run per config, each with its own id. Every config is checked before any run
        /// starts, so a bad config starts nothing. If the backend fails part-way, the runs already
        /// started stay tracked and are named in the <see cref="SweepSpawnException"/>.
        /// </summary>
        public async Task<IReadOnlyList<RaySpawnedTask>> SpawnSweepAsync(IEnumerable<object> configs, RunRequest? request = null, CancellationToken cancellationToken = default)
        {
            if (configs == null) throw new ArgumentNullException(nameof(configs));
            request ??= RunRequest.Default;
            if (request.RunId != null)
                throw new ArgumentException("A sweep cannot share one run id; leave RunId unset and each run gets its own.", nameof(request));

            var runs = configs.Select((c, i) => PrepareIndexed(c, request, i)).ToList();
            var spawned = new List<RaySpawnedTask>(runs.Count);
            foreach (var run in runs)
            {
                try
                {
                    spawned.Add(await StartAsync(run, cancellationToken).ConfigureAwait(false));
                }
                catch (Exception ex) when (spawned.Count > 0)
                {
                    throw new SweepSpawnException(spawned, runs.Count, ex);
                }
            }
            return spawned;
        }

        TrackedRun PrepareIndexed(object config, RunRequest request, int index)
        {
            try
            {
                return Prepare(config, request, runId: null);
            }
            catch (ConfigValidationException ex)
            {
                throw new ConfigValidationException(ex.KeyPath, $"Config #{index + 1} of the sweep: {ex.Message}");
            }
        }

        TrackedRun Prepare(object config, RunRequest request, string? runId)
        {
            var normalized = ExperimentConfig.Normalize(config);
            runId = runId == null ? NewUniqueRunId() : RunIds.Validate(runId, nameof(RunRequest.RunId));
            if (request.TimeoutSeconds < 0)
                throw new ArgumentOutOfRangeException(nameof(request.TimeoutSeconds), request.TimeoutSeconds, "TimeoutSeconds must be 0 (no limit) or more.");
            var template = request.Entrypoint ?? _options.Entrypoint
                ?? throw new ArgumentException("No entrypoint: give the command to run, for example 'python train.py {overrides}'.", nameof(request.Entrypoint));

            var input = new TaskInput(ExperimentConfig.WithoutRunId(normalized), runId)
            {
                TimeoutSeconds = request.TimeoutSeconds,
                AdditionalTags = request.Tags,
            };
            var spec = new TaskSpec(input, EntrypointTemplate.Parse(template))
            {
                WorkingDirectory = request.WorkingDirectory,
                SweepId = request.SweepId,
                UseShell = request.UseShell,
                Environment = request.Environment ?? new Dictionary<string, string>(),
            };
            return new TrackedRun(spec, RemoteOptions(), normalized, _backend.Name);
        }

        string NewUniqueRunId()
        {
            // 32 bits of a GUID: collisions are rare but real in a long-lived store, so check.
            while (true)
            {
                var id = RunIds.New();
                if (!_active.ContainsKey(id) && _store.TryLoad(id) == null) return id;
            }
        }

        /// <summary>tmgg's _get_remote_options: CPUs, one experiment slot, and GPUs only when asked for.</summary>
        TaskOptions RemoteOptions() => new TaskOptions
        {
            NumCpus = _options.NumCpusPerTask,
            NumGpus = _options.NumGpusPerTask > 0 ? _options.NumGpusPerTask : (double?)null,
            Resources = new Dictionary<string, double> { [ExperimentSlotResource] = 1 },
        };

        async Task<RaySpawnedTask> StartAsync(TrackedRun run, CancellationToken cancellationToken)
        {
            if (!_active.TryAdd(run.RunId, run))
                throw new ArgumentException($"A run with id '{run.RunId}' is already tracked. Choose another id, or collect or remove that run first.", nameof(RunRequest.RunId));
            _store.Save(Record(run, RunStatus.Queued));

            bool dispatchNow;
            lock (_gate)
            {
                dispatchNow = _inFlight < _options.MaxConcurrent && _queue.Count == 0;
                if (dispatchNow)
                {
                    _inFlight++;
                    run.Phase = RunPhase.Dispatching;
                }
                else
                {
                    _queue.AddLast(run);
                }
            }

            if (dispatchNow)
            {
                try
                {
                    await DispatchAsync(run, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    // The caller is told it failed, so nothing of the run may remain.
                    _active.TryRemove(run.RunId, out _);
                    _store.Delete(run.RunId);
                    run.Phase = RunPhase.Finished;
                    run.DispatchEnded.TrySetResult(false);
                    ReleaseSlot();
                    throw;
                }
            }
            return new RaySpawnedTask(run.RunId, run.Ref) { SweepId = run.SweepId, SubmittedAt = run.SubmittedAt };
        }

        async Task DispatchAsync(TrackedRun run, CancellationToken cancellationToken)
        {
            var taskRef = await _backend.SubmitAsync(run.Spec, run.Options, cancellationToken).ConfigureAwait(false);
            run.Ref = taskRef;
            run.DispatchedAt = DateTimeOffset.UtcNow;
            run.LastPhase = RunStatus.Pending;
            run.Phase = RunPhase.Dispatched;
            _store.Save(Record(run, RunStatus.Pending));
            run.DispatchEnded.TrySetResult(true);
            _ = MonitorAsync(run);
        }

        /// <summary>Frees a slot and hands the next queued runs to the backend.</summary>
        void ReleaseSlot()
        {
            lock (_gate) _inFlight--;
            Pump();
        }

        void Pump()
        {
            while (!_lifetime.IsCancellationRequested)
            {
                TrackedRun next;
                lock (_gate)
                {
                    if (_inFlight >= _options.MaxConcurrent || _queue.Count == 0) return;
                    next = _queue.First!.Value;
                    _queue.RemoveFirst();
                    _inFlight++;
                    next.Phase = RunPhase.Dispatching;
                }
                _ = DispatchQueuedAsync(next);
            }
        }

        async Task DispatchQueuedAsync(TrackedRun run)
        {
            try
            {
                await DispatchAsync(run, _lifetime.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Nobody is waiting on this call, so the failure becomes the run's result: never lost.
                run.Phase = RunPhase.Finished;
                run.DispatchEnded.TrySetResult(false);
                Finish(run, TaskOutput.Failure(run.RunId, RunStatus.Failed, $"The backend did not accept the run: {ex.Message}"));
                ReleaseSlot();
            }
        }

        /// <summary>Waits for one dispatched run to end, enforcing its timeout; one task per run, no polling here.</summary>
        async Task MonitorAsync(TrackedRun run)
        {
            TaskOutput output;
            var token = run.Watch.Token;
            try
            {
                var get = _backend.GetAsync(run.Ref, token);
                var timeout = run.Spec.Input.TimeoutSeconds;
                if (timeout > 0)
                {
                    var remaining = TimeSpan.FromSeconds(timeout) - (DateTimeOffset.UtcNow - run.DispatchedAt!.Value);
                    if (remaining < TimeSpan.Zero) remaining = TimeSpan.Zero;
                    var first = await Task.WhenAny(get, Task.Delay(remaining, token)).ConfigureAwait(false);
                    token.ThrowIfCancellationRequested(); // a cancel, not a timeout
                    output = first == get || get.IsCompleted
                        ? await get.ConfigureAwait(false)
                        : await TimeOutAsync(run, timeout).ConfigureAwait(false);
                }
                else
                {
                    output = await get.ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Cancelled by Cancel() (which has already recorded the outcome) or by Dispose().
                output = TaskOutput.Failure(run.RunId, RunStatus.Cancelled, "The run was cancelled.");
            }
            catch (Exception ex)
            {
                // tmgg: a result that cannot be fetched means the run failed.
                output = TaskOutput.Failure(run.RunId, RunStatus.Failed, $"Fetching the result failed: {ex.Message}");
            }

            Finish(run, output);
            run.Phase = RunPhase.Finished;
            ReleaseSlot();
        }

        async Task<TaskOutput> TimeOutAsync(TrackedRun run, int timeoutSeconds)
        {
            var message = $"The run exceeded its timeout of {timeoutSeconds} s and was stopped.";
            try
            {
                await _backend.CancelAsync(run.Ref, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                message = $"The run exceeded its timeout of {timeoutSeconds} s; stopping it failed: {ex.Message}";
            }
            return TaskOutput.Failure(run.RunId, RunStatus.Timeout, message);
        }

        /// <summary>Records, then reports, a run's outcome. The first caller wins; later ones are ignored.</summary>
        void Finish(TrackedRun run, TaskOutput output)
        {
            if (!run.TryClaimFinish()) return;
            var now = DateTimeOffset.UtcNow;
            var started = output.StartedAt ?? run.DispatchedAt;
            var completed = output.CompletedAt ?? now;
            var duration = output.DurationSeconds > 0 ? output.DurationSeconds
                : started.HasValue ? Math.Max(0, (completed - started.Value).TotalSeconds) : 0;
            var status = RunStatus.Normalize(output.Status) ?? RunStatus.Completed;
            var final = output.With(runId: run.RunId, status: status, startedAt: started, completedAt: completed, durationSeconds: duration);
            try
            {
                _store.Save(Record(run, status, final));
            }
            finally
            {
                run.Outcome.TrySetResult(final);
            }
        }

        RunRecord Record(TrackedRun run, string status, TaskOutput? result = null) => new RunRecord
        {
            RunId = run.RunId,
            SweepId = run.SweepId,
            ConfigHash = ConfigHash.Compute(run.Spec.Input.Config),
            Backend = _backend.Name,
            Address = _backend.Address,
            Entrypoint = run.Spec.Entrypoint.Text,
            WorkingDirectory = run.Spec.WorkingDirectory,
            Input = run.Spec.Input,
            Options = run.Options,
            Status = status,
            Locator = run.Phase == RunPhase.Queued ? null : run.Ref.Locator,
            CreatedAt = run.SubmittedAt,
            SubmittedAt = run.DispatchedAt,
            Result = result,
        };

        // ----------------------------------------------------------------------------------
        // Blocking
        // ----------------------------------------------------------------------------------

        /// <summary>tmgg's run_experiment. <paramref name="gpuType"/> is accepted for parity and ignored.</summary>
        public ExperimentResult RunExperiment(object config, string gpuType = "debug", int timeoutSeconds = 3600) =>
            RunExperimentAsync(config, new RunRequest { TimeoutSeconds = timeoutSeconds }).GetAwaiter().GetResult();

        public async Task<ExperimentResult> RunExperimentAsync(object config, RunRequest? request = null, CancellationToken cancellationToken = default)
        {
            var spawned = await SpawnExperimentAsync(config, request, cancellationToken).ConfigureAwait(false);
            var result = await GetResultAsync(spawned.RunId, cancellationToken).ConfigureAwait(false);
            _active.TryRemove(spawned.RunId, out _);
            return result;
        }

        /// <summary>tmgg's run_sweep: <paramref name="gpuType"/> and <paramref name="parallelism"/> are ignored (MaxConcurrent rules).</summary>
        public IReadOnlyList<ExperimentResult> RunSweep(IEnumerable<object> configs, string gpuType = "debug", int parallelism = 4, int timeoutSeconds = 3600) =>
            RunSweepAsync(configs, new RunRequest { TimeoutSeconds = timeoutSeconds }).GetAwaiter().GetResult();

        /// <summary>Runs every config and returns the results in config order.</summary>
        public async Task<IReadOnlyList<ExperimentResult>> RunSweepAsync(IEnumerable<object> configs, RunRequest? request = null, CancellationToken cancellationToken = default)
        {
            var spawned = await SpawnSweepAsync(configs, request, cancellationToken).ConfigureAwait(false);
            var results = await Task.WhenAll(spawned.Select(s => GetResultAsync(s.RunId, cancellationToken))).ConfigureAwait(false);
            foreach (var s in spawned) _active.TryRemove(s.RunId, out _);
            return results;
        }

        /// <summary>Waits for a tracked run to end and returns its result; the run stays tracked.</summary>
        public async Task<ExperimentResult> GetResultAsync(string runId, CancellationToken cancellationToken = default)
        {
            var run = Tracked(runId);
            var output = await WaitWithCancellation(run.Outcome.Task, cancellationToken).ConfigureAwait(false);
            return ExperimentResult.FromTaskOutput(output, run.RunId, run.Config, run.SweepId);
        }

        /// <summary>The result if the run has ended, else null. Does not block.</summary>
        public ExperimentResult? TryGetResult(string runId)
        {
            if (!_active.TryGetValue(runId, out var run) || !run.IsFinished) return null;
            return ExperimentResult.FromTaskOutput(run.Outcome.Task.Result, run.RunId, run.Config, run.SweepId);
        }

        /// <summary>
        /// Waits until all (or, with <paramref name="any"/>, one) of the runs have ended, or the
        /// timeout passes (null: no limit). Returns the ids that have ended, in the order given.
        /// Driven by the runs' own completion, never by a sleep loop.
        /// </summary>
        public async Task<IReadOnlyList<string>> WaitAsync(IEnumerable<string> runIds, bool any = false, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        {
            var runs = runIds.Distinct(StringComparer.Ordinal).Select(Tracked).ToList();
            if (runs.Count > 0)
            {
                var outcomes = runs.Select(r => (Task)r.Outcome.Task).ToList();
                var target = any ? Task.WhenAny(outcomes) : Task.WhenAll(outcomes);
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = Task.Delay(timeout ?? Timeout.InfiniteTimeSpan, cts.Token);
                var first = await Task.WhenAny(target, delay).ConfigureAwait(false);
                cts.Cancel();
                if (first != target) cancellationToken.ThrowIfCancellationRequested();
            }
            return runs.Where(r => r.IsFinished).Select(r => r.RunId).ToList();
        }

        static async Task<T> WaitWithCancellation<T>(Task<T> task, CancellationToken cancellationToken)
        {
            if (!cancellationToken.CanBeCanceled || task.IsCompleted) return await task.ConfigureAwait(false);
            var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(() => cancelled.TrySetResult(true)))
            {
                if (await Task.WhenAny(task, cancelled.Task).ConfigureAwait(false) != task)
                    cancellationToken.ThrowIfCancellationRequested();
            }
            return await task.ConfigureAwait(false);
        }

        TrackedRun Tracked(string runId)
        {
            if (runId != null && _active.TryGetValue(runId, out var run)) return run;
            throw new KeyNotFoundException($"No run with id '{runId}' is tracked by this runner.");
        }

        // ----------------------------------------------------------------------------------
        // Status and control
        // ----------------------------------------------------------------------------------

        public string GetStatus(string runId) => GetStatusAsync(runId).GetAwaiter().GetResult();

        /// <summary>
        /// tmgg's get_status: <c>unknown</c> for an untracked run; <c>queued</c> while the runner
        /// holds it; the backend's phase (<c>pending</c>/<c>running</c>) while not ready; the
        /// result's own status when ready; <c>failed</c> when fetching the result throws.
        /// </summary>
        public async Task<string> GetStatusAsync(string runId, CancellationToken cancellationToken = default)
        {
            if (runId == null || !_active.TryGetValue(runId, out var run)) return RunStatus.Unknown;
            if (run.IsFinished) return run.Outcome.Task.Result.Status;
            if (run.Phase == RunPhase.Queued || run.Phase == RunPhase.Dispatching) return RunStatus.Queued;

            var wait = await _backend.WaitAsync(new[] { run.Ref }, 1, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            if (wait.Ready.Count == 0)
            {
                var phase = wait.PhaseOf(run.Ref);
                run.LastPhase = phase;
                return phase;
            }
            try
            {
                var output = await _backend.GetAsync(run.Ref, cancellationToken).ConfigureAwait(false);
                return RunStatus.Normalize(output.Status) ?? RunStatus.Completed;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception)
            {
                return RunStatus.Failed;
            }
        }

        public bool Cancel(string runId) => CancelAsync(runId).GetAwaiter().GetResult();

        /// <summary>
        /// tmgg's cancel: false for an untracked run; true, and the run untracked, once the backend
        /// accepted the cancel; false (run still tracked) when the backend's cancel throws. A queued
        /// run is simply taken out of the queue. The run's outcome becomes <c>cancelled</c>.
        /// </summary>
        public async Task<bool> CancelAsync(string runId, CancellationToken cancellationToken = default)
        {
            if (runId == null || !_active.TryGetValue(runId, out var run)) return false;

            bool wasQueued;
            lock (_gate)
            {
                wasQueued = run.Phase == RunPhase.Queued && _queue.Remove(run);
                if (wasQueued) run.Phase = RunPhase.Finished;
            }
            if (wasQueued)
            {
                Finish(run, TaskOutput.Failure(run.RunId, RunStatus.Cancelled, "The run was cancelled before it started."));
                _active.TryRemove(runId, out _);
                return true;
            }

            // Being handed over right now: let that finish, then stop what the backend has.
            if (!await WaitWithCancellation(run.DispatchEnded.Task, cancellationToken).ConfigureAwait(false) && run.IsFinished)
            {
                _active.TryRemove(runId, out _);
                return true;
            }

            try
            {
                await _backend.CancelAsync(run.Ref, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception)
            {
                return false;
            }

            Finish(run, TaskOutput.Failure(run.RunId, RunStatus.Cancelled, "The run was cancelled."));
            run.Watch.Cancel();
            _active.TryRemove(runId, out _);
            return true;
        }

        /// <summary>Stops tracking a run (it stays in the store). Returns false when it was not tracked.</summary>
        public bool Forget(string runId) => runId != null && _active.TryRemove(runId, out _);

        public void Shutdown() => ShutdownAsync().GetAwaiter().GetResult();

        /// <summary>tmgg's shutdown: shuts the backend down when it is initialized.</summary>
        public async Task ShutdownAsync(CancellationToken cancellationToken = default)
        {
            if (_backend.IsInitialized)
                await _backend.ShutdownAsync(cancellationToken).ConfigureAwait(false);
        }

        /// <summary>A point-in-time view of every tracked run, without calling the backend.</summary>
        public IReadOnlyList<RunSnapshot> ListRuns() =>
            _active.Values.OrderBy(r => r.SubmittedAt).Select(Snapshot).ToList();

        public RunSnapshot? GetRun(string runId) =>
            runId != null && _active.TryGetValue(runId, out var run) ? Snapshot(run) : null;

        RunSnapshot Snapshot(TrackedRun run)
        {
            var output = run.IsFinished ? run.Outcome.Task.Result : null;
            return new RunSnapshot
            {
                RunId = run.RunId,
                SweepId = run.SweepId,
                Status = output?.Status ?? (run.Phase == RunPhase.Dispatched ? run.LastPhase : RunStatus.Queued),
                Backend = _backend.Name,
                Entrypoint = run.Spec.Entrypoint.Text,
                Config = run.Config,
                SubmittedAt = run.SubmittedAt,
                StartedAt = output?.StartedAt ?? run.DispatchedAt,
                CompletedAt = output?.CompletedAt,
                Output = output,
                ObjectRef = run.Ref,
            };
        }

        /// <summary>The run's log from the backend, when the backend keeps one.</summary>
        public Task<string> GetLogAsync(string runId, int? tailLines = null, CancellationToken cancellationToken = default)
        {
            var run = Tracked(runId);
            if (_backend is not IRunLogReader reader)
                throw new NotSupportedException($"The {_backend.Name} backend keeps no logs.");
            return reader.ReadLogAsync(run.Ref, tailLines, cancellationToken);
        }

        /// <summary>Stops every monitor. Runs on the backend keep going; the backend is not shut down.</summary>
        public void Dispose()
        {
            if (_lifetime.IsCancellationRequested) return;
            _lifetime.Cancel();
            foreach (var run in _active.Values) run.Watch.Cancel();
        }
    }

    /// <summary>A sweep started some runs, then the backend failed: the started runs are still tracked.</summary>
    public sealed class SweepSpawnException : Exception
    {
        public SweepSpawnException(IReadOnlyList<RaySpawnedTask> spawned, int total, Exception inner)
            : base($"Started {spawned.Count} of {total} runs, then the backend failed: {inner.Message} The started runs keep running and are tracked: {string.Join(", ", spawned.Select(s => s.RunId))}.", inner)
        {
            Spawned = spawned;
        }

        public IReadOnlyList<RaySpawnedTask> Spawned { get; }
    }

    /// <summary>One tracked run as seen at one moment.</summary>
    public sealed class RunSnapshot
    {
        public string RunId { get; init; } = "";
        public string? SweepId { get; init; }
        public string Status { get; init; } = RunStatus.Unknown;
        public string Backend { get; init; } = "";
        public string Entrypoint { get; init; } = "";
        public IReadOnlyDictionary<string, object?> Config { get; init; } = new Dictionary<string, object?>();
        public DateTimeOffset SubmittedAt { get; init; }
        public DateTimeOffset? StartedAt { get; init; }
        public DateTimeOffset? CompletedAt { get; init; }
        public TaskOutput? Output { get; init; }
        public TaskRef? ObjectRef { get; init; }
    }
}
