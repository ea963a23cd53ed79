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
    public sealed partial class RayRunner : IDisposable
    {
        public const string ExperimentSlotResource = "experiment_slot";

        readonly IRayBackend _backend;
        readonly RayRunnerOptions _options;
        readonly IRunStore _store;
        readonly ConcurrentDictionary<string, TrackedRun> _active = new ConcurrentDictionary<string, TrackedRun>(StringComparer.Ordinal);
        readonly object _gate = new object();
        readonly LinkedList<TrackedRun> _queue = new LinkedList<TrackedRun>();
        readonly CancellationTokenSource _lifetime = new CancellationTokenSource();
        /// <summary>This process, as recorded in the store for runs it holds or hands over.</summary>
        readonly ProcessIdentity _me = ProcessIdentity.Current;
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

        /// <summary>
        /// How many runs the runner hands the backend at once: <see cref="MaxConcurrent"/>, or fewer
        /// when the backend says fewer fit (<see cref="IBackendCapacity"/>: the local backend's CPU
        /// and GPU slots). The rest stay <c>queued</c> here, recorded and resumable.
        /// </summary>
        public int DispatchLimit
        {
            get
            {
                if (_dispatchLimit == 0)
                {
                    var fits = (_backend as IBackendCapacity)?.RunsAtOnce(RemoteOptions()) ?? 0;
                    // 0 means a run never fits: dispatch anyway, so the backend fails it with its reason.
                    _dispatchLimit = fits >= 1 ? Math.Min(_options.MaxConcurrent, fits) : _options.MaxConcurrent;
                }
                return _dispatchLimit;
            }
        }

        int _dispatchLimit;
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
            if (request.Resume) return await ResumeSweepAsync(runs, request, cancellationToken).ConfigureAwait(false);
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
            var options = RemoteOptions();
            var createdAt = DateTimeOffset.UtcNow;
            return new TrackedRun(spec, options, normalized, _backend.Name, createdAt)
            {
                SpecRecord = new RunSpecRecord
                {
                    SweepId = request.SweepId,
                    ConfigHash = ConfigHash.Compute(input.Config),
                    Config = normalized,
                    Input = input,
                    Entrypoint = spec.Entrypoint.Text,
                    WorkingDirectory = request.WorkingDirectory,
                    UseShell = request.UseShell,
                    Environment = request.Environment,
                    Options = options,
                    Backend = _backend.Name,
                    Address = _backend.Address,
                    CreatedAt = createdAt,
                },
            };
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
            Register(run);
            return await LaunchAsync(run, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>Tracks the run and records it as queued: from here on it cannot be lost.</summary>
        void Register(TrackedRun run)
        {
            if (!_active.TryAdd(run.RunId, run))
                throw new ArgumentException($"A run with id '{run.RunId}' is already tracked. Choose another id, or collect or remove that run first.", nameof(RunRequest.RunId));
            try
            {
                _store.Save(Record(run, RunStatus.Queued));
            }
            catch
            {
                _active.TryRemove(run.RunId, out _);
                throw;
            }
        }

        /// <summary>Hands a registered run to the backend now, or queues it until a slot frees.</summary>
        async Task<RaySpawnedTask> LaunchAsync(TrackedRun run, CancellationToken cancellationToken)
        {
            bool dispatchNow;
            lock (_gate)
            {
                dispatchNow = _inFlight < DispatchLimit && _queue.Count == 0;
                if (dispatchNow)
                {
                    _inFlight++;
                    run.HoldsSlot = true;
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
                    ReleaseSlotOf(run);
                    throw;
                }
            }
            return Handle(run);
        }

        RaySpawnedTask Handle(TrackedRun run) =>
            new RaySpawnedTask(run.RunId, run.Ref) { SweepId = run.SweepId, SubmittedAt = run.SubmittedAt };

        /// <summary>
        /// Hands one run to the backend, exactly once across processes: the run is claimed in the
        /// store first (under the store lock), submitted, then recorded as submitted. If the store
        /// says another process already has it, or it already ended, this process follows it instead.
        /// </summary>
        async Task DispatchAsync(TrackedRun run, CancellationToken cancellationToken)
        {
            var claim = ClaimForDispatch(run.RunId);
            switch (claim.Kind)
            {
                case ClaimKind.Final:
                    run.DispatchEnded.TrySetResult(false);
                    Complete(run, claim.Record!.Result!);
                    return;
                case ClaimKind.Submitted:
                    BeginMonitoring(run, claim.Record!);
                    return;
                case ClaimKind.Elsewhere:
                    _ = FollowAsync(run);
                    return;
                case ClaimKind.Missing:
                    throw new InvalidOperationException($"The record of run '{run.RunId}' disappeared from the run store before the run was handed over, so it was not started.");
            }

            TaskRef? taskRef = null;
            if (claim.StaleClaim)
            {
                // A process died while handing this run over: it may or may not have reached the
                // backend. Ask the backend by run id first (Ray: GET by submission id); only a run
                // the backend does not know is submitted again (and SubmitAsync is idempotent per id).
                taskRef = await FindOnBackendAsync(run.RunId, cancellationToken).ConfigureAwait(false);
            }
            taskRef ??= await _backend.SubmitAsync(run.Spec, run.Options, cancellationToken).ConfigureAwait(false);
            run.Ref = taskRef;
            run.DispatchedAt = DateTimeOffset.UtcNow;
            run.LastPhase = RunStatus.Pending;
            run.Phase = RunPhase.Dispatched;
            SaveQuietly(Record(run, RunStatus.Pending));
            run.DispatchEnded.TrySetResult(true);
            _ = MonitorAsync(run);
        }

        /// <summary>The backend's reference for a run it already has, or null when it has none (or cannot say).</summary>
        async Task<TaskRef?> FindOnBackendAsync(string runId, CancellationToken cancellationToken)
        {
            var bare = new TaskRef(_backend.Name, runId);
            try
            {
                var answer = await _backend.WaitAsync(new[] { bare }, 1, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
                var found = answer.NotReady.FirstOrDefault(r => r.Equals(bare));
                if (found != null) return found;
                found = answer.Ready.FirstOrDefault(r => r.Equals(bare));
                if (found == null) return null;
                // "Ready" also covers a look-up that found nothing (Ray ends the wait of an unknown job
                // with an error): only a readable result proves the backend has the run. Ready means
                // GetAsync answers at once.
                await _backend.GetAsync(found, cancellationToken).ConfigureAwait(false);
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

        /// <summary>Starts monitoring a run the store says was submitted (by this or another process).</summary>
        void BeginMonitoring(TrackedRun run, RunRecord record)
        {
            run.Ref = record.ToTaskRef();
            run.DispatchedAt = record.Submission!.SubmittedAt;
            run.LastPhase = RunStatus.IsTerminal(record.Status) || record.Status == RunStatus.Queued ? RunStatus.Pending : record.Status;
            run.Phase = RunPhase.Dispatched;
            run.DispatchEnded.TrySetResult(true);
            _ = MonitorAsync(run);
        }

        /// <summary>Frees the run's slot, if it holds one, and hands the next queued runs to the backend.</summary>
        void ReleaseSlotOf(TrackedRun run)
        {
            if (!run.TryReleaseSlot()) return;
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
                    if (_inFlight >= DispatchLimit || _queue.Count == 0) return;
                    next = _queue.First!.Value;
                    _queue.RemoveFirst();
                    _inFlight++;
                    next.HoldsSlot = true;
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
            catch (OperationCanceledException) when (_lifetime.IsCancellationRequested)
            {
                // The runner was disposed mid-hand-over: leave the run queued in the store, let go of
                // it, and let any process resume it (its claim tells them to ask the backend first).
                run.DispatchEnded.TrySetResult(false);
                Release(run);
            }
            catch (Exception ex)
            {
                // Nobody is waiting on this call, so the failure becomes the run's result: never lost.
                run.DispatchEnded.TrySetResult(false);
                Complete(run, TaskOutput.Failure(run.RunId, RunStatus.Failed, $"The backend did not accept the run: {ex.Message}"));
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
                // Cancel() has already recorded the outcome. Dispose() only stops watching: the run
                // goes on in the backend and its record stays "submitted", so a later session
                // re-attaches to it. Recording "cancelled" here would be a lie that loses the result.
                if (_lifetime.IsCancellationRequested && !run.IsFinished) return;
                output = TaskOutput.Failure(run.RunId, RunStatus.Cancelled, "The run was cancelled.");
            }
            catch (Exception ex)
            {
                // tmgg: a result that cannot be fetched means the run failed.
                output = TaskOutput.Failure(run.RunId, RunStatus.Failed, $"Fetching the result failed: {ex.Message}");
            }

            if (!token.IsCancellationRequested && RunStatus.Normalize(output.Status) != RunStatus.Completed && TakeOverStranded(run)) return;
            Complete(run, output);
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

        /// <summary>Records and reports the outcome, then frees the run's slot.</summary>
        void Complete(TrackedRun run, TaskOutput output)
        {
            Finish(run, output);
            run.Phase = RunPhase.Finished;
            ReleaseSlotOf(run);
        }

        /// <summary>
        /// Records, then reports, a run's outcome. The first caller wins; later ones are ignored.
        /// Across processes the store decides: if another process recorded the run's end first,
        /// that recorded outcome is the one reported, so every process tells the same story.
        /// </summary>
        void Finish(TrackedRun run, TaskOutput output)
        {
            if (!run.TryClaimFinish()) return;
            var final = Finalize(output, run.RunId, run.DispatchedAt);
            RunRecord? stored = null;
            try
            {
                stored = SaveQuietly(Record(run, final.Status, final));
            }
            finally
            {
                run.Outcome.TrySetResult(stored?.Result ?? final);
            }
        }

        /// <summary>Fills the fields RayRunner observes: status normalized, start, end and duration.</summary>
        static TaskOutput Finalize(TaskOutput output, string runId, DateTimeOffset? dispatchedAt)
        {
            var now = DateTimeOffset.UtcNow;
            var started = output.StartedAt ?? dispatchedAt;
            var completed = output.CompletedAt ?? now;
            var duration = output.DurationSeconds > 0 ? output.DurationSeconds
                : started.HasValue ? Math.Max(0, (completed - started.Value).TotalSeconds) : 0;
            var status = RunStatus.Normalize(output.Status) ?? RunStatus.Completed;
            return output.With(runId: runId, status: status, startedAt: started, completedAt: completed, durationSeconds: duration);
        }

        /// <summary>
        /// Saves a record on a path where the caller cannot be told of a failure (a monitor, a
        /// background dispatch). A disk error must not leave a run hanging: the outcome is still
        /// reported in this process, and the record, left behind, makes a later process ask the
        /// backend again. Returns null when the save failed.
        /// </summary>
        RunRecord? SaveQuietly(RunRecord record)
        {
            try
            {
                return _store.Save(record);
            }
            catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>The run as it stands, for the store.</summary>
        RunRecord Record(TrackedRun run, string status, TaskOutput? result = null, DispatchClaim? claim = null) => new RunRecord
        {
            RunId = run.RunId,
            Status = status,
            Spec = run.SpecRecord,
            // A run not yet handed over is held by this process's queue; say so, so that others
            // leave it alone while this process lives and adopt it once it is gone.
            Owner = run.DispatchedAt == null && result == null ? _me : null,
            Claim = claim,
            Submission = run.DispatchedAt == null ? null : new SubmissionRecord
            {
                Backend = run.Ref.Backend,
                Locator = run.Ref.Locator,
                SubmittedAt = run.DispatchedAt.Value,
            },
            Result = result,
            UpdatedAt = DateTimeOffset.UtcNow,
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

        /// <summary>
        /// Waits for a run to end and returns its result; a tracked run stays tracked. A run of an
        /// earlier session or another process is answered from the store when its result is
        /// recorded, else re-attached through the backend (see <see cref="Attach"/>).
        /// </summary>
        public async Task<ExperimentResult> GetResultAsync(string runId, CancellationToken cancellationToken = default)
        {
            var run = Attach(runId) ?? throw NotFound(runId);
            var output = await WaitWithCancellation(run.Outcome.Task, cancellationToken).ConfigureAwait(false);
            return ExperimentResult.FromTaskOutput(output, run.RunId, run.Config, run.SweepId);
        }

        /// <summary>The result if the run has ended, else null. Does not block.</summary>
        public ExperimentResult? TryGetResult(string runId)
        {
            if (runId != null && _active.TryGetValue(runId, out var run))
                return run.IsFinished ? ExperimentResult.FromTaskOutput(run.Outcome.Task.Result, run.RunId, run.Config, run.SweepId) : null;
            var record = runId == null ? null : _store.TryLoad(runId);
            return record?.Result == null ? null : ExperimentResult.FromTaskOutput(record.Result, record.RunId, record.Spec.Config, record.SweepId);
        }

        /// <summary>
        /// Waits until all (or, with <paramref name="any"/>, one) of the runs have ended, or the
        /// timeout passes (null: no limit). Returns the ids that have ended, in the order given.
        /// Driven by the runs' own completion, never by a sleep loop. Runs of earlier sessions or
        /// other processes are re-attached first; a queued one whose process died is dispatched
        /// again here (see <see cref="ResumeQueuedAsync"/>).
        /// </summary>
        public async Task<IReadOnlyList<string>> WaitAsync(IEnumerable<string> runIds, bool any = false, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        {
            var runs = runIds.Distinct(StringComparer.Ordinal).Select(id => Attach(id) ?? throw NotFound(id)).ToList();
            if (runs.Count > 0)
            {
                var outcomes = runs.Select(r => (Task)r.Outcome.Task).ToList();
                var target = any ? Task.WhenAny(outcomes) : Task.WhenAll(outcomes);
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
                var delay = Task.Delay(timeout ?? Timeout.InfiniteTimeSpan, cts.Token);
                var first = await Task.WhenAny(target, delay).ConfigureAwait(false);
                cts.Cancel();
                if (first != target)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    ThrowIfDisposed();
                }
            }
            return runs.Where(r => r.IsFinished).Select(r => r.RunId).ToList();
        }

        /// <summary>Awaits a run's outcome until the caller cancels or the runner is disposed (its monitors stop then).</summary>
        async Task<T> WaitWithCancellation<T>(Task<T> task, CancellationToken cancellationToken)
        {
            if (task.IsCompleted) return await task.ConfigureAwait(false);
            var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(() => stopped.TrySetResult(true)))
            using (_lifetime.Token.Register(() => stopped.TrySetResult(true)))
            {
                if (await Task.WhenAny(task, stopped.Task).ConfigureAwait(false) != task)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    ThrowIfDisposed();
                }
            }
            return await task.ConfigureAwait(false);
        }

        void ThrowIfDisposed()
        {
            if (_lifetime.IsCancellationRequested)
                throw new ObjectDisposedException(nameof(RayRunner), "The runner was disposed; its runs go on in the backend and in the run store. Create a new runner over the same store to follow them.");
        }

        TrackedRun Tracked(string runId)
        {
            if (runId != null && _active.TryGetValue(runId, out var run)) return run;
            throw NotFound(runId);
        }

        static KeyNotFoundException NotFound(string? runId) =>
            new KeyNotFoundException($"No run with id '{runId}' is tracked by this runner or recorded in its run store. List the known runs with Get-RayRun (ListRuns).");

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
            if (runId == null) return RunStatus.Unknown;
            if (!_active.TryGetValue(runId, out var run)) return await GetStoredStatusAsync(runId, cancellationToken).ConfigureAwait(false);
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
            if (runId == null) return false;
            if (!_active.TryGetValue(runId, out var run) || (run.IsFollower && run.Phase != RunPhase.Dispatched))
                return await CancelStoredAsync(runId, run, cancellationToken).ConfigureAwait(false);

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
            // The run's monitor may have won the race to record the outcome (the backend's stop
            // ended the run first); either way, return only once the final record is written, so a
            // caller that removes the run next finds it finished and no late write brings it back.
            await WaitWithCancellation(run.Outcome.Task, cancellationToken).ConfigureAwait(false);
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

        /// <summary>
        /// A point-in-time view of every run this runner tracks or its store records (earlier
        /// sessions, other processes), oldest first, without calling the backend.
        /// </summary>
        public IReadOnlyList<RunSnapshot> ListRuns()
        {
            var tracked = _active.Values.ToList();
            var snapshots = tracked.Select(Snapshot).ToList();
            var seen = new HashSet<string>(tracked.Select(r => r.RunId), StringComparer.Ordinal);
            foreach (var record in _store.List())
                if (seen.Add(record.RunId)) snapshots.Add(Snapshot(record));
            return snapshots.OrderBy(s => s.SubmittedAt).ThenBy(s => s.RunId, StringComparer.Ordinal).ToList();
        }

        /// <summary>One run as tracked here, else as recorded in the store; null when neither knows it.</summary>
        public RunSnapshot? GetRun(string runId)
        {
            if (runId == null) return null;
            if (_active.TryGetValue(runId, out var run)) return Snapshot(run);
            var record = _store.TryLoad(runId);
            return record == null ? null : Snapshot(record);
        }

        internal static RunSnapshot Snapshot(RunRecord record) => new RunSnapshot
        {
            RunId = record.RunId,
            SweepId = record.SweepId,
            Status = record.Result != null ? RunStatus.Normalize(record.Result.Status) ?? record.Status : record.Status,
            Backend = record.Spec.Backend,
            Entrypoint = record.Spec.Entrypoint,
            Config = record.Spec.Config,
            SubmittedAt = record.Spec.CreatedAt,
            StartedAt = record.Result?.StartedAt ?? record.Submission?.SubmittedAt,
            CompletedAt = record.Result?.CompletedAt,
            Output = record.Result,
            ObjectRef = record.ToTaskRef(),
        };

        RunSnapshot Snapshot(TrackedRun run)
        {
            var output = run.IsFinished ? run.Outcome.Task.Result : null;
            return new RunSnapshot
            {
                RunId = run.RunId,
                SweepId = run.SweepId,
                Status = output?.Status ?? (run.Phase == RunPhase.Dispatched ? run.LastPhase : RunStatus.Queued),
                Backend = run.SpecRecord.Backend,
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
            var taskRef = _active.TryGetValue(runId, out var run) ? run.Ref : _store.TryLoad(runId)?.ToTaskRef() ?? throw NotFound(runId);
            if (_backend is not IRunLogReader reader)
                throw new NotSupportedException($"The {_backend.Name} backend keeps no logs.");
            return reader.ReadLogAsync(taskRef, tailLines, cancellationToken);
        }

        /// <summary>
        /// Stops every monitor. Runs on the backend keep going; the backend is not shut down. Runs
        /// still queued here are let go in the store, so any process can resume them.
        /// </summary>
        public void Dispose()
        {
            if (_lifetime.IsCancellationRequested) return;
            _lifetime.Cancel();
            List<TrackedRun> queued;
            lock (_gate)
            {
                queued = _queue.ToList();
                _queue.Clear();
            }
            foreach (var run in queued) Release(run);
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
