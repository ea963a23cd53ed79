using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// The embedded default backend: each run is a child process on this machine. Needs nothing but
    /// the module (and /bin/sh on Unix).
    /// </summary>
    /// <remarks>
    /// <para>Slots: at most <see cref="LocalBackendOptions.MaxConcurrent"/> runs, and the CPUs and GPUs
    /// the runs ask for (<see cref="TaskOptions.NumCpus"/>, <see cref="TaskOptions.NumGpus"/>), all
    /// counted per instance, never per process. This backend does not queue: a run that does not fit
    /// right now is refused (<see cref="BackendFullException"/>, nothing of it kept) and the runner,
    /// which never hands over more than <see cref="BackendAbilities.RunsAtOnce"/> allows, keeps it
    /// queued. A run that could never fit fails at once with a message that says why.</para>
    /// <para>Contract: argv from the entrypoint with no shell unless the spec opts in, RAYRUNNER_*
    /// variables, the working directory, stdout and stderr to the run's log, the last
    /// RAYRUNNER_RESULT line for the result (see <see cref="RunOutcome"/>). A command that cannot be
    /// started is a failed run with the reason, not an exception.</para>
    /// <para>Lifetime: on Unix a run outlives this process (see <see cref="ProcessLauncher"/>); its
    /// <see cref="TaskRef.Locator"/> lets any process watch, stop and collect it
    /// (<see cref="LocalLocator"/>). Shutdown and Dispose therefore leave started runs running.</para>
    /// </remarks>
    public sealed class LocalProcessBackend : IRayBackend, IDisposable
    {
        public const string BackendName = "local";

        static readonly bool OnWindows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
        static readonly TimeSpan CancelWait = TimeSpan.FromSeconds(10);

        readonly LocalBackendOptions _options;
        readonly RunLocators _locators;
        readonly RunStarter _starter;
        readonly object _gate = new object();
        readonly SlotPool _pool;
        readonly bool _gpusManaged;
        readonly Dictionary<string, LocalRun> _runs = new Dictionary<string, LocalRun>(StringComparer.Ordinal);
        readonly ConcurrentDictionary<string, Lazy<AttachedRun>> _attached = new ConcurrentDictionary<string, Lazy<AttachedRun>>(StringComparer.Ordinal);
        readonly CancellationTokenSource _lifetime;
        readonly LaunchMode _mode;
        bool _initialized;
        bool _disposed;
        int _running;
        int _maxObservedRunning;

        public LocalProcessBackend(LocalBackendOptions options)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            options.Validate();
            _lifetime = CancellationTokenSource.CreateLinkedTokenSource(options.Lifetime);
            var gpuIds = GpuInventory.Discover(options.NumGpus, options.EnvironmentReader);
            _gpusManaged = gpuIds.Count > 0;
            _pool = new SlotPool(options.MaxConcurrent, options.NumCpus ?? Environment.ProcessorCount, gpuIds);
            _mode = options.ForceLaunchMode ?? (OnWindows ? LaunchMode.Piped : LaunchMode.Detached);
            _locators = new RunLocators(options.LogPathFor, options.LogDirectory, _mode);
            _starter = new RunStarter(options, _mode, new ExitWatcher(_gate, _locators.New, Settle, _lifetime.Token));
            Abilities = new BackendAbilities { RunsAtOnce = RunsAtOnce };
        }

        /// <summary>Fixed CPU and GPU slots.</summary>
        public BackendAbilities Abilities { get; }

        /// <summary>The local backend keeps no record beyond the run's files, which the run store owns: nothing to remove.</summary>
        public Task RemoveAsync(TaskRef task, CancellationToken cancellationToken) => Task.CompletedTask;

        public string Name => BackendName;
        public string Address => "localhost";

        public bool IsAvailable => UnavailableReason == null;

        public string? UnavailableReason =>
            OnWindows || File.Exists("/bin/sh") ? null : "the local backend needs /bin/sh to start runs, and there is none on this machine";

        public bool IsInitialized
        {
            get { lock (_gate) return _initialized; }
        }

        public int MaxConcurrent => _pool.MaxRuns;

        /// <inheritdoc />
        public int RunsAtOnce(TaskOptions options) => _pool.RunsThatFitAtOnce(SlotRequest.From(options));
        public double TotalCpus => _pool.TotalCpus;
        /// <summary>The GPU ids this backend hands out through CUDA_VISIBLE_DEVICES.</summary>
        public IReadOnlyList<string> GpuIds => _pool.GpuIds;
        /// <summary>Runs started and not yet ended.</summary>
        public int RunningCount => Volatile.Read(ref _running);
        /// <summary>The most runs this instance ever had running at once.</summary>
        public int MaxObservedRunning => Volatile.Read(ref _maxObservedRunning);

        /// <summary>
        /// ray.init: declares the custom resources to count (the runner's <c>experiment_slot</c>).
        /// Initializing again is not an error and changes nothing (tmgg's ignore_reinit_error).
        /// </summary>
        public Task InitAsync(ClusterOptions options, CancellationToken cancellationToken)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            cancellationToken.ThrowIfCancellationRequested();
            lock (_gate)
            {
                ThrowIfDisposed();
                if (!_initialized) _pool.Declare(options.Resources);
                _initialized = true;
            }
            return Task.CompletedTask;
        }

        /// <summary>
        /// Starts the run now, or refuses it with <see cref="BackendFullException"/> when its slots
        /// are taken (nothing of it is kept, so it can be submitted again). Idempotent per run id: a
        /// run this instance has, or one whose files show it was started before (by any process), is
        /// not started again; its reference is returned.
        /// </summary>
        public Task<TaskRef> SubmitAsync(TaskSpec spec, TaskOptions options, CancellationToken cancellationToken)
        {
            if (spec == null) throw new ArgumentNullException(nameof(spec));
            if (options == null) throw new ArgumentNullException(nameof(options));
            RunIds.Validate(spec.SubmissionId, nameof(spec));
            cancellationToken.ThrowIfCancellationRequested();
            // A runtime_env's env_vars mean the same here as on Ray; its other fields are Ray's alone.
            spec = RuntimeEnvReader.WithEnvVars(spec, options.RuntimeEnv);

            TaskOutput? failure;
            LocalRun run;
            lock (_gate)
            {
                ThrowIfDisposed();
                if (_runs.TryGetValue(spec.SubmissionId, out var known)) return Task.FromResult(known.Ref);

                var files = _locators.FilesOf(spec.SubmissionId);
                if (files.Exists)
                {
                    // Started before, by this or another process (a resubmission after a lost answer):
                    // follow that run rather than start a second one.
                    return Task.FromResult(new TaskRef(BackendName, spec.SubmissionId, _locators.New(files, null).ToDictionary()));
                }

                var request = SlotRequest.From(options);
                var never = _pool.WhyItCanNeverFit(request);
                var grant = never == null ? _pool.TryTake(request) : null;
                if (never == null && grant == null)
                    throw new BackendFullException(spec.SubmissionId,
                        $"The local backend has no free slot for run {spec.SubmissionId} now ({_pool.RunsInUse} of {_pool.MaxRuns} runs, {_pool.TotalCpus:0.##} CPUs): submit it again when a run has ended.");

                run = new LocalRun(spec, request, files) { Program = FirstWord(spec), Mode = _mode };
                try
                {
                    files.Prepare();
                    _runs[spec.SubmissionId] = run;
                    failure = never != null ? RunStarter.FailToStart(run, never) : TryStart(run, grant!);
                }
                catch
                {
                    // The run's folder could not be made (a full disk, no permission): nothing started.
                    _runs.Remove(spec.SubmissionId);
                    if (grant != null) _pool.Release(grant);
                    throw;
                }
                if (failure != null && grant != null) _pool.Release(grant);
                run.Ref = new TaskRef(BackendName, spec.SubmissionId, _locators.Of(run).ToDictionary());
            }
            if (failure != null) run.Completion.TrySetResult(failure);
            return Task.FromResult(run.Ref);
        }

        /// <summary>ray.get: waits for the run's end. Works for runs of other processes too, through the reference's locator.</summary>
        public Task<TaskOutput> GetAsync(TaskRef task, CancellationToken cancellationToken) =>
            Waits.WithCancellation(CompletionOf(task), cancellationToken);

        public async Task<WaitResult> WaitAsync(IReadOnlyList<TaskRef> tasks, int numReturns, TimeSpan? timeout, CancellationToken cancellationToken)
        {
            if (tasks == null) throw new ArgumentNullException(nameof(tasks));
            var completions = tasks.Select(CompletionOf).ToList();
            var wanted = Math.Max(0, Math.Min(numReturns, tasks.Count));
            if (timeout != TimeSpan.Zero)
                await Waits.UntilEnoughEndAsync(completions, wanted, timeout, cancellationToken).ConfigureAwait(false);

            var ready = new List<TaskRef>();
            var notReady = new List<TaskRef>();
            var phases = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < tasks.Count; i++)
            {
                if (completions[i].IsCompleted)
                {
                    ready.Add(tasks[i]);
                    continue;
                }
                notReady.Add(tasks[i]);
                phases[tasks[i].RunId] = PhaseOf(tasks[i]);
            }
            return new WaitResult(ready, notReady, phases);
        }

        /// <summary>
        /// ray.cancel: the run's whole process tree is killed. Returns once the run has ended. Safe to repeat, and on a finished run.
        /// </summary>
        public async Task CancelAsync(TaskRef task, CancellationToken cancellationToken)
        {
            if (task == null) throw new ArgumentNullException(nameof(task));
            var run = Own(task);
            if (run == null)
            {
                await Attach(task).CancelAsync(cancellationToken).ConfigureAwait(false);
                return;
            }

            lock (_gate)
            {
                if (run.State == LocalRunState.Finished) return;
                run.CancelRequested = true;
            }

            // Marker first, so anyone reading the run's files (and our own exit handler) sees a
            // cancel, not a process killed by a signal.
            run.Files.MarkCancelled();
            ProcessTree.Kill(run.Pid, run.Identity, run.Process?.Handle, run.SessionLeader);
            await Waits.EndsFirstAsync(run.Completion.Task, cancellationToken, timeout: CancelWait).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }

        /// <summary>ray.shutdown: started runs keep running and stay collectable through their references.</summary>
        public Task ShutdownAsync(CancellationToken cancellationToken)
        {
            lock (_gate) _initialized = false;
            return Task.CompletedTask;
        }

        public Task<string> ReadLogAsync(TaskRef task, int? tailLines, CancellationToken cancellationToken)
        {
            if (task == null) throw new ArgumentNullException(nameof(task));
            if (tailLines.HasValue && tailLines.Value < 0)
                throw new ArgumentOutOfRangeException(nameof(tailLines), tailLines, "The number of lines must be 0 or more.");
            cancellationToken.ThrowIfCancellationRequested();
            var log = Own(task)?.Files.Log ?? _locators.For(task).Files.Log;
            return Task.FromResult(tailLines.HasValue ? LogFile.Tail(log, tailLines.Value) : LogFile.ReadAll(log));
        }

        /// <summary>Stops watching. Started runs keep running (see <see cref="ShutdownAsync"/>).</summary>
        public void Dispose()
        {
            List<LocalRun> running;
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                _initialized = false;
                running = _runs.Values.Where(r => r.State == LocalRunState.Running).ToList();
            }
            _lifetime.Cancel();
            foreach (var run in running)
            {
                run.Completion.TrySetException(new ObjectDisposedException(nameof(LocalProcessBackend),
                    $"The local backend was disposed while run {run.RunId} was running; the run goes on and can be collected through its reference."));
                run.Process?.Dispose();
            }
        }

        // ----------------------------------------------------------------------------------
        // Starting runs
        // ----------------------------------------------------------------------------------

        /// <summary>Starts one run with its grant; null on success, else its final output. Caller holds the lock.</summary>
        TaskOutput? TryStart(LocalRun run, SlotGrant grant)
        {
            var failure = _starter.TryStart(run, _gpusManaged ? grant.GpuIds : null);
            if (failure != null) return failure;
            run.Grant = grant;
            var running = Interlocked.Increment(ref _running);
            InterlockedMax(ref _maxObservedRunning, running);
            return null;
        }

        /// <summary>
        /// The one place a started run ends: its slots go back, its
        /// process handle is released, its outcome is set. Once per run, whichever exit signal gets
        /// here first (the Exited event's path, or the watchdog when that path stalls).
        /// </summary>
        void Settle(LocalRun run, TaskOutput output)
        {
            if (!run.TrySettle()) return;
            try
            {
                // Slots go back before the outcome is set, so whoever hears of the end may submit again.
                lock (_gate)
                {
                    run.State = LocalRunState.Finished;
                    Interlocked.Decrement(ref _running);
                    if (run.Grant != null) _pool.Release(run.Grant);
                    run.Grant = null;
                }
                run.Process?.Dispose();
            }
            finally
            {
                run.Completion.TrySetResult(output);
            }
        }

        // ----------------------------------------------------------------------------------
        // Finding runs
        // ----------------------------------------------------------------------------------

        LocalRun? Own(TaskRef task)
        {
            CheckBackend(task);
            lock (_gate) return _runs.TryGetValue(task.RunId, out var run) ? run : null;
        }

        Task<TaskOutput> CompletionOf(TaskRef task)
        {
            if (task == null) throw new ArgumentNullException(nameof(task));
            return Own(task)?.Completion.Task ?? Attach(task).Completion;
        }

        string PhaseOf(TaskRef task)
        {
            var run = Own(task);
            if (run != null)
            {
                return RunStatus.Running; // started at submission: this backend holds no run waiting
            }
            return Attach(task).Phase;
        }

        /// <summary>A run of another process (or an earlier instance): followed through its locator.</summary>
        AttachedRun Attach(TaskRef task)
        {
            var locator = _locators.For(task);
            return _attached.GetOrAdd(task.RunId, id => new Lazy<AttachedRun>(() => new AttachedRun(id, locator, _lifetime.Token))).Value;
        }

        static void CheckBackend(TaskRef task)
        {
            if (task.Backend != BackendName)
                throw new ArgumentException($"Run {task.RunId} belongs to the '{task.Backend}' backend, not the local one.", nameof(task));
        }

        static string FirstWord(TaskSpec spec) => spec.Entrypoint.Tokens.Count > 0 ? spec.Entrypoint.Tokens[0] : "The command";

        void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException(nameof(LocalProcessBackend));
        }

        static void InterlockedMax(ref int target, int value)
        {
            int current;
            while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current) { }
        }
    }
}
