using System;
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
    /// A thin facade over collaborators with one job each (see docs/architecture.md):
    /// <see cref="RunPreparer"/> makes runs, <see cref="DispatchQueue"/> is the only queue and hands
    /// runs to the backend, <see cref="RunRecorder"/> owns every store write and claim,
    /// <see cref="RunMonitor"/> watches runs to their end, <see cref="RunAttacher"/> follows runs of
    /// other processes, <see cref="SweepPlanner"/> plans a resumed sweep, and
    /// <see cref="RunStatusReader"/> / <see cref="RunCanceller"/> answer status and cancel. Every
    /// public member is safe to call from several threads at once; the limit is per runner.
    /// </remarks>
    public sealed partial class ExperimentRunner : IRunView, IDisposable
    {
        public const string ExperimentSlotResource = ClusterOptions.ExperimentSlotResource;

        readonly RunnerContext _ctx;
        readonly RunPreparer _preparer;
        readonly RunRecorder _recorder;
        readonly DispatchQueue _queue;
        readonly RunMonitor _monitor;
        readonly RunAttacher _attacher;
        readonly SweepPlanner _planner;
        readonly RunStatusReader _status;
        readonly RunCanceller _canceller;
        readonly LiveRunView _view;

        /// <summary>tmgg's constructor: checks the backend is available and initializes it unless it already is.</summary>
        public ExperimentRunner(IRayBackend backend, int maxConcurrent = 4, double numGpusPerTask = 0.0, int numCpusPerTask = 1)
            : this(backend, new RayRunnerOptions { MaxConcurrent = maxConcurrent, NumGpusPerTask = numGpusPerTask, NumCpusPerTask = numCpusPerTask })
        {
        }

        public ExperimentRunner(IRayBackend backend, RayRunnerOptions options)
            : this(backend, options, deferInitialization: true)
        {
            // tmgg's constructor is synchronous; the runner's lifetime bounds the wait.
            InitializeBackendAsync(_ctx.Lifetime).GetAwaiter().GetResult();
        }

        /// <summary>Checks and wires only; the public constructors and <see cref="CreateAsync"/> then initialize the backend.</summary>
        ExperimentRunner(IRayBackend backend, RayRunnerOptions options, bool deferInitialization)
        {
            if (backend == null) throw new ArgumentNullException(nameof(backend));
            if (options == null) throw new ArgumentNullException(nameof(options));
            options.Validate();
            EnsureRayAvailable(backend);
            _ctx = new RunnerContext(backend, options, options.Store ?? new InMemoryRunStore());
            _preparer = new RunPreparer(_ctx);
            _recorder = new RunRecorder(_ctx);
            _queue = new DispatchQueue(_ctx, _recorder);
            _monitor = new RunMonitor(_ctx, _recorder, _queue);
            _attacher = new RunAttacher(_ctx, _recorder, _preparer, _queue, _monitor);
            _queue.Monitor = _monitor;
            _queue.Attacher = _attacher;
            _monitor.Attacher = _attacher;
            _planner = new SweepPlanner(_ctx, _recorder);
            _status = new RunStatusReader(_ctx, _recorder, _monitor);
            _canceller = new RunCanceller(_ctx, _recorder, _queue, _monitor);
            _view = new LiveRunView(_ctx, _status);
        }

        /// <summary>The async constructor: the same checks, without blocking a thread on cluster start-up.</summary>
        public static async Task<ExperimentRunner> CreateAsync(IRayBackend backend, RayRunnerOptions? options = null, CancellationToken cancellationToken = default)
        {
            var runner = new ExperimentRunner(backend, options ?? new RayRunnerOptions(), deferInitialization: true);
            await runner.InitializeBackendAsync(cancellationToken).ConfigureAwait(false);
            return runner;
        }

        public int MaxConcurrent => _ctx.Options.MaxConcurrent;
        /// <summary>How many runs the runner hands the backend at once: MaxConcurrent, or fewer when the backend says fewer fit.</summary>
        public int DispatchLimit => _queue.DispatchLimit;
        public double NumGpusPerTask => _ctx.Options.NumGpusPerTask;
        public int NumCpusPerTask => _ctx.Options.NumCpusPerTask;
        public IRayBackend Backend => _ctx.Backend;
        public IRunStore Store => _ctx.Store;
        /// <summary>RayRunner supports detached (spawn) execution.</summary>
        public bool SupportsSpawn => true;
        /// <summary>Run ids the runner tracks right now (tmgg's _active_runs keys).</summary>
        public IReadOnlyCollection<string> ActiveRunIds => _ctx.Runs.Ids;
        public bool IsTracked(string runId) => _ctx.Runs.Contains(runId);
        /// <summary>Files in the store that could not be read (reported, skipped, never thrown).</summary>
        public IReadOnlyList<StoreProblem> StoreProblems => _ctx.Store.Problems;

        /// <summary>tmgg's _ensure_ray_available.</summary>
        public static void EnsureRayAvailable(IRayBackend backend)
        {
            if (backend == null) throw new ArgumentNullException(nameof(backend));
            if (!backend.IsAvailable) throw new RayNotInstalledException(backend.UnavailableReason);
        }

        async Task InitializeBackendAsync(CancellationToken cancellationToken)
        {
            // tmgg: "Auto-init if not connected", with a custom resource for concurrency control.
            if (_ctx.Backend.IsInitialized) return;
            await _ctx.Backend.InitAsync(new ClusterOptions
            {
                Resources = new Dictionary<string, double> { [ExperimentSlotResource] = _ctx.Options.MaxConcurrent },
                IgnoreReinitError = true,
            }, cancellationToken).ConfigureAwait(false);
        }

        // ----------------------------------------------------------------------------------
        // Spawn (detached) and run (blocking)
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
            var run = _preparer.Prepare(config, request, request.RunId);
            return await StartAsync(run, cancellationToken).ConfigureAwait(false);
        }

        public IReadOnlyList<RaySpawnedTask> SpawnSweep(IEnumerable<object> configs, int timeoutSeconds = 3600) =>
            SpawnSweepAsync(configs, new RunRequest { TimeoutSeconds = timeoutSeconds }).GetAwaiter().GetResult();

        /// <summary>
        /// Starts one run per config, each with its own id. Every config is checked before any run
        /// starts, so a bad config starts nothing. If the backend fails part-way, the runs already
        /// started stay tracked and are named in the <see cref="SweepSpawnException"/>. With
        /// <see cref="RunRequest.Resume"/>, the sweep is resumed (see <see cref="SweepPlanner"/>).
        /// </summary>
        public async Task<IReadOnlyList<RaySpawnedTask>> SpawnSweepAsync(IEnumerable<object> configs, RunRequest? request = null, CancellationToken cancellationToken = default)
        {
            if (configs == null) throw new ArgumentNullException(nameof(configs));
            request ??= RunRequest.Default;
            if (request.RunId != null)
                throw new ArgumentException("A sweep cannot share one run id; leave RunId unset and each run gets its own.", nameof(request));

            var sweepIds = new HashSet<string>(StringComparer.Ordinal);
            var runs = configs.Select((c, i) => _preparer.PrepareIndexed(c, request, i, sweepIds)).ToList();
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

        async Task<RaySpawnedTask> StartAsync(TrackedRun run, CancellationToken cancellationToken)
        {
            _ctx.ThrowIfDisposed();
            using var call = _ctx.CallScope(cancellationToken);
            _recorder.Register(run);
            await _queue.LaunchAsync(run, call.Token).ConfigureAwait(false);
            return run.Handle();
        }

        async Task<IReadOnlyList<RaySpawnedTask>> ResumeSweepAsync(IReadOnlyList<TrackedRun> runs, RunRequest request, CancellationToken cancellationToken)
        {
            var sweepId = request.SweepId
                ?? throw new ArgumentException("Resuming a sweep needs its SweepId: give the SweepId the sweep was started with.", nameof(request));
            var plan = _planner.Plan(sweepId, runs);
            var handles = new List<RaySpawnedTask>(plan.Count);
            for (var i = 0; i < plan.Count; i++)
            {
                var step = plan[i];
                try
                {
                    if (step.Existing is { } existing)
                    {
                        var attached = existing.IsFinal ? null : _attacher.Attach(existing.RunId);
                        handles.Add(new RaySpawnedTask(existing.RunId, attached?.Ref ?? existing.ToTaskRef())
                        {
                            SweepId = existing.SweepId,
                            SubmittedAt = existing.Spec.CreatedAt,
                            Resumed = existing.IsFinal ? ResumeStep.Reused : ResumeStep.Followed,
                        });
                    }
                    else
                    {
                        using (var call = _ctx.CallScope(cancellationToken))
                            await _queue.LaunchAsync(step.Fresh!, call.Token).ConfigureAwait(false);
                        handles.Add(new RaySpawnedTask(step.Fresh!.RunId, step.Fresh.Ref)
                            { SweepId = step.Fresh.SweepId, SubmittedAt = step.Fresh.SubmittedAt, Resumed = ResumeStep.Started });
                    }
                }
                catch (Exception ex)
                {
                    // Runs recorded for this call but never launched must not linger as queued.
                    foreach (var later in plan.Skip(i + 1).Where(s => s.Fresh != null)) _recorder.Unregister(later.Fresh!);
                    if (handles.Count == 0) throw;
                    throw new SweepSpawnException(handles, plan.Count, ex);
                }
            }
            return handles;
        }

        /// <summary>tmgg's run_experiment. <paramref name="gpuType"/> is accepted for parity and ignored.</summary>
        public ExperimentResult RunExperiment(object config, string gpuType = "debug", int timeoutSeconds = 3600) =>
            RunExperimentAsync(config, new RunRequest { TimeoutSeconds = timeoutSeconds }).GetAwaiter().GetResult();

        public async Task<ExperimentResult> RunExperimentAsync(object config, RunRequest? request = null, CancellationToken cancellationToken = default)
        {
            var spawned = await SpawnExperimentAsync(config, request, cancellationToken).ConfigureAwait(false);
            var result = await GetResultAsync(spawned.RunId, cancellationToken).ConfigureAwait(false);
            _ctx.Runs.Remove(spawned.RunId);
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
            foreach (var s in spawned) _ctx.Runs.Remove(s.RunId);
            return results;
        }

        /// <summary>
        /// Adopts and dispatches the queued runs whose process died (of one sweep, or all); returns
        /// them oldest first. See <see cref="RunAttacher.ResumeQueued"/>.
        /// </summary>
        public Task<IReadOnlyList<RaySpawnedTask>> ResumeQueuedAsync(string? sweepId = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(_attacher.ResumeQueued(sweepId, cancellationToken));

        // ----------------------------------------------------------------------------------
        // Results and waits
        // ----------------------------------------------------------------------------------

        /// <summary>
        /// Waits for a run to end and returns its result; a tracked run stays tracked. A run of an
        /// earlier session or another process is answered from the store when its result is
        /// recorded, else re-attached through the backend.
        /// </summary>
        public async Task<ExperimentResult> GetResultAsync(string runId, CancellationToken cancellationToken = default)
        {
            var run = _attacher.Attach(runId) ?? throw RunnerContext.NotFound(runId);
            var output = await _ctx.AwaitAsync(run.Outcome.Task, cancellationToken).ConfigureAwait(false);
            return ExperimentResult.FromTaskOutput(output, run.RunId, run.Config, run.SweepId);
        }

        /// <summary>The result if the run has ended, else null. Does not block.</summary>
        public ExperimentResult? TryGetResult(string runId) => _view.TryGetResult(runId);

        /// <summary>
        /// Waits until all (or, with <paramref name="any"/>, one) of the runs have ended, or the
        /// timeout passes (null: no limit). Returns the ids that have ended, in the order given.
        /// Driven by the runs' own completion, never by a sleep loop. Runs of earlier sessions or
        /// other processes are re-attached first.
        /// </summary>
        public async Task<IReadOnlyList<string>> WaitAsync(IEnumerable<string> runIds, bool any = false, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        {
            var runs = runIds.Distinct(StringComparer.Ordinal).Select(id => _attacher.Attach(id) ?? throw RunnerContext.NotFound(id)).ToList();
            if (runs.Count > 0)
            {
                var outcomes = runs.Select(r => (Task)r.Outcome.Task).ToList();
                var target = any ? Task.WhenAny(outcomes) : Task.WhenAll(outcomes);
                if (!await Waits.EndsFirstAsync(target, cancellationToken, _ctx.Lifetime, timeout).ConfigureAwait(false))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    _ctx.ThrowIfDisposed();
                }
            }
            return runs.Where(r => r.IsFinished).Select(r => r.RunId).ToList();
        }

        /// <summary>
        /// Stops every monitor (the lifetime is the parent of every run's watch). Runs on the backend
        /// keep going; the backend is not shut down. Runs still queued here are let go in the store,
        /// so any process can resume them.
        /// </summary>
        public void Dispose()
        {
            if (_ctx.IsDisposed) return;
            _ctx.EndLifetime();
            foreach (var run in _queue.Drain()) _recorder.Release(run);
        }
    }
}
