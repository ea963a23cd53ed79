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
    /// counted per instance, never per process. A run that does not fit waits (phase pending) and
    /// runs start strictly in submission order as slots free up (see <see cref="FifoScheduler{T}"/>).
    /// A run that could never fit fails at once with a message that says why.</para>
    /// <para>Contract: argv from the entrypoint with no shell unless the spec opts in, RAYRUNNER_*
    /// variables, the working directory, stdout and stderr to the run's log, the last
    /// RAYRUNNER_RESULT line for the result (see <see cref="RunOutcome"/>). A command that cannot be
    /// started is a failed run with the reason, not an exception.</para>
    /// <para>Lifetime: on Unix a run outlives this process (see <see cref="ProcessLauncher"/>); its
    /// <see cref="TaskRef.Locator"/> lets any process watch, stop and collect it
    /// (<see cref="LocalLocator"/>). Shutdown and Dispose therefore leave started runs running; runs
    /// still waiting for a slot are cancelled, since nothing would start them.</para>
    /// </remarks>
    public sealed class LocalProcessBackend : IRayBackend, IDisposable
    {
        public const string BackendName = "local";

        static readonly bool OnWindows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
        static readonly TimeSpan CancelWait = TimeSpan.FromSeconds(10);

        readonly LocalBackendOptions _options;
        readonly Func<string, string> _logPathFor;
        readonly object _gate = new object();
        readonly FifoScheduler<LocalRun> _scheduler;
        readonly bool _gpusManaged;
        readonly Dictionary<string, LocalRun> _runs = new Dictionary<string, LocalRun>(StringComparer.Ordinal);
        readonly ConcurrentDictionary<string, Lazy<AttachedRun>> _attached = new ConcurrentDictionary<string, Lazy<AttachedRun>>(StringComparer.Ordinal);
        readonly CancellationTokenSource _lifetime = new CancellationTokenSource();
        readonly LaunchMode _mode;
        readonly int _hostPid = ProcessIdentity.Current.Pid;
        readonly string? _hostIdentity = ProcessIdentity.Current.StartTime;
        bool _initialized;
        bool _disposed;
        int _running;
        int _maxObservedRunning;

        public LocalProcessBackend(LocalBackendOptions options)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            options.Validate();
            var gpuIds = GpuInventory.Discover(options.NumGpus, options.EnvironmentReader);
            _gpusManaged = gpuIds.Count > 0;
            _scheduler = new FifoScheduler<LocalRun>(new SlotPool(options.MaxConcurrent, options.NumCpus ?? Environment.ProcessorCount, gpuIds));
            _mode = options.ForceLaunchMode ?? (OnWindows ? LaunchMode.Piped : LaunchMode.Detached);
            _logPathFor = options.LogPathFor ?? DefaultLogPaths(options.LogDirectory);
            Abilities = new BackendAbilities { RunsAtOnce = RunsAtOnce, IsStranded = IsStranded };
        }

        /// <summary>Fixed CPU and GPU slots, and runs that may wait for them in this process (stranded if it dies).</summary>
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

        public int MaxConcurrent => _scheduler.Pool.MaxRuns;

        /// <inheritdoc />
        public int RunsAtOnce(TaskOptions options) => _scheduler.Pool.RunsThatFitAtOnce(SlotRequest.From(options));
        public double TotalCpus => _scheduler.Pool.TotalCpus;
        /// <summary>The GPU ids this backend hands out through CUDA_VISIBLE_DEVICES.</summary>
        public IReadOnlyList<string> GpuIds => _scheduler.Pool.GpuIds;
        /// <summary>Runs started and not yet ended.</summary>
        public int RunningCount => Volatile.Read(ref _running);
        /// <summary>Runs waiting for slots.</summary>
        public int WaitingCount
        {
            get { lock (_gate) return _scheduler.WaitingCount; }
        }
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
                if (!_initialized) _scheduler.Pool.Declare(options.Resources);
                _initialized = true;
            }
            return Task.CompletedTask;
        }

        /// <summary>
        /// Starts the run now when its slots are free, else queues it. Idempotent per run id: a run
        /// this instance has, or one whose files show it was started before (by any process), is not
        /// started again; its reference is returned.
        /// </summary>
        public Task<TaskRef> SubmitAsync(TaskSpec spec, TaskOptions options, CancellationToken cancellationToken)
        {
            if (spec == null) throw new ArgumentNullException(nameof(spec));
            if (options == null) throw new ArgumentNullException(nameof(options));
            RunIds.Validate(spec.SubmissionId, nameof(spec));
            cancellationToken.ThrowIfCancellationRequested();

            var finished = new List<KeyValuePair<LocalRun, TaskOutput>>();
            TaskRef reference;
            lock (_gate)
            {
                ThrowIfDisposed();
                if (_runs.TryGetValue(spec.SubmissionId, out var known)) return Task.FromResult(known.Ref);

                var files = RunFiles.ForLog(_logPathFor(spec.SubmissionId));
                if (files.Exists)
                {
                    // Started before, by this or another process (a resubmission after a lost answer):
                    // follow that run rather than start a second one.
                    return Task.FromResult(new TaskRef(BackendName, spec.SubmissionId, NewLocator(files, null).ToDictionary()));
                }
                files.Prepare();

                var request = SlotRequest.From(options);
                var run = new LocalRun(spec, request, files) { Program = FirstWord(spec), Mode = _mode };
                _runs[spec.SubmissionId] = run;
                var never = _scheduler.Pool.WhyItCanNeverFit(request);
                if (never != null)
                    finished.Add(new KeyValuePair<LocalRun, TaskOutput>(run, FailToStart(run, never)));
                else
                    StartAll(_scheduler.Enqueue(run, request), finished);
                run.Ref = reference = new TaskRef(BackendName, spec.SubmissionId, LocatorOf(run).ToDictionary());
            }
            Complete(finished);
            return Task.FromResult(reference);
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
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var deadline = Task.Delay(timeout ?? Timeout.InfiniteTimeSpan, stop.Token);
                while (completions.Count(c => c.IsCompleted) < wanted)
                {
                    var pending = completions.Where(c => !c.IsCompleted).Cast<Task>().ToList();
                    pending.Add(deadline);
                    if (await Task.WhenAny(pending).ConfigureAwait(false) == deadline) break;
                }
                stop.Cancel();
                cancellationToken.ThrowIfCancellationRequested();
            }

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
        /// ray.cancel: a waiting run is taken out of the queue; a running one has its whole process
        /// tree killed. Returns once the run has ended. Safe to repeat, and on a finished run.
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

            TaskOutput? dequeued = null;
            lock (_gate)
            {
                if (run.State == LocalRunState.Finished) return;
                if (run.State == LocalRunState.Waiting)
                {
                    _scheduler.Remove(run);
                    run.Files.MarkCancelled();
                    run.Files.WriteExitIfAbsent(ExitRecord.CancelledWord);
                    run.State = LocalRunState.Finished;
                    dequeued = RunOutcome.NotStarted(run.RunId, RunStatus.Cancelled, "The run was cancelled before it started.", DateTimeOffset.UtcNow);
                }
                else
                {
                    run.CancelRequested = true;
                }
            }
            if (dequeued != null)
            {
                run.Completion.TrySetResult(dequeued);
                return;
            }

            // Marker first, so anyone reading the run's files (and our own exit handler) sees a
            // cancel, not a process killed by a signal.
            run.Files.MarkCancelled();
            ProcessTree.Kill(run.Pid, run.Identity, run.Process, run.SessionLeader);
            await Task.WhenAny(run.Completion.Task, Task.Delay(CancelWait, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }

        /// <summary>
        /// ray.shutdown: runs still waiting for a slot are cancelled (nothing would start them);
        /// started runs keep running and stay collectable through their references.
        /// </summary>
        public Task ShutdownAsync(CancellationToken cancellationToken)
        {
            var cancelled = new List<KeyValuePair<LocalRun, TaskOutput>>();
            lock (_gate)
            {
                _initialized = false;
                foreach (var run in _scheduler.RemoveAll())
                {
                    run.Files.MarkCancelled();
                    run.Files.WriteExitIfAbsent(ExitRecord.CancelledWord);
                    run.State = LocalRunState.Finished;
                    cancelled.Add(new KeyValuePair<LocalRun, TaskOutput>(run,
                        RunOutcome.NotStarted(run.RunId, RunStatus.Cancelled, "The local backend was shut down before this run could start.", DateTimeOffset.UtcNow)));
                }
            }
            Complete(cancelled);
            return Task.CompletedTask;
        }

        public Task<string> ReadLogAsync(TaskRef task, int? tailLines, CancellationToken cancellationToken)
        {
            if (task == null) throw new ArgumentNullException(nameof(task));
            if (tailLines.HasValue && tailLines.Value < 0)
                throw new ArgumentOutOfRangeException(nameof(tailLines), tailLines, "The number of lines must be 0 or more.");
            cancellationToken.ThrowIfCancellationRequested();
            var log = Own(task)?.Files.Log ?? LocatorFor(task).Files.Log;
            return Task.FromResult(tailLines.HasValue ? LogFile.Tail(log, tailLines.Value) : LogFile.ReadAll(log));
        }

        /// <summary>
        /// A run another process submitted that was still waiting for a slot there when that process
        /// died: it never started (no pid file, no exit file, not cancelled) and never will. The runner
        /// dispatches such a run again; <see cref="SubmitAsync"/> then starts it here.
        /// </summary>
        public bool IsStranded(TaskRef task)
        {
            if (task == null || task.Backend != BackendName || Own(task) != null) return false;
            var locator = LocalLocator.From(task.Locator);
            if (locator == null || locator.Pid.HasValue || !locator.HostPid.HasValue) return false;
            if (locator.Files.Exists || locator.Files.IsCancelled) return false;
            if (ProcessIdentity.IsRunning(locator.HostPid.Value, locator.HostStart)) return false;
            return !locator.Files.Exists; // looked again: it did not start while its host was being checked
        }

        /// <summary>Stops watching. Started runs keep running (see <see cref="ShutdownAsync"/>); waiting ones are cancelled.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed) return;
            }
            ShutdownAsync(CancellationToken.None).GetAwaiter().GetResult();
            List<LocalRun> running;
            lock (_gate)
            {
                _disposed = true;
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

        /// <summary>Starts the admitted runs in order; a run that fails to start gives its slots back to the next. Caller holds the lock.</summary>
        void StartAll(IReadOnlyList<KeyValuePair<LocalRun, SlotGrant>> admitted, List<KeyValuePair<LocalRun, TaskOutput>> finished)
        {
            var work = new Queue<KeyValuePair<LocalRun, SlotGrant>>(admitted);
            while (work.Count > 0)
            {
                var next = work.Dequeue();
                var failure = TryStart(next.Key, next.Value);
                if (failure == null) continue;
                finished.Add(new KeyValuePair<LocalRun, TaskOutput>(next.Key, failure));
                foreach (var more in _scheduler.Release(next.Value)) work.Enqueue(more);
            }
        }

        /// <summary>Starts one run; null on success, else its final output. Caller holds the lock.</summary>
        TaskOutput? TryStart(LocalRun run, SlotGrant grant)
        {
            if (run.Files.IsCancelled)
            {
                // Cancelled from another process while it waited here.
                run.State = LocalRunState.Finished;
                run.Files.WriteExitIfAbsent(ExitRecord.CancelledWord);
                return RunOutcome.NotStarted(run.RunId, RunStatus.Cancelled, "The run was cancelled before it started.", DateTimeOffset.UtcNow);
            }

            var plan = ProcessLauncher.Plan(run.Spec, _gpusManaged ? grant.GpuIds : null, run.Files, _mode, _options.EnvironmentReader, out var error);
            if (plan == null) return FailToStart(run, error!);

            var process = new Process { StartInfo = plan.StartInfo, EnableRaisingEvents = true };
            process.Exited += (_, __) => _ = Task.Run(() => OnExitedAsync(run));
            try
            {
                if (!process.Start()) throw new InvalidOperationException("no process was started");
            }
            catch (Exception ex) when (ex is Win32Exception || ex is InvalidOperationException || ex is IOException || ex is UnauthorizedAccessException)
            {
                process.Dispose();
                return FailToStart(run, $"Could not start '{plan.Program}': {ex.Message}");
            }

            run.Process = process;
            run.Pid = process.Id;
            run.StartedAt = DateTimeOffset.UtcNow;
            run.Identity = ProcessIdentity.StartTokenOf(run.Pid, includeEnded: true);
            run.SessionLeader = plan.SessionLeader;
            run.Grant = grant;
            run.State = LocalRunState.Running;
            if (plan.Mode == LaunchMode.Piped) run.OutputCopied = RunEnding.CopyOutput(process, run.Files.Log);
            try
            {
                run.Files.WritePid(run.Pid, run.Identity, run.StartedAt.Value);
            }
            catch (IOException ex)
            {
                run.Files.AppendToLog($"could not write the pid file {run.Files.Pid} ({ex.Message}); other processes cannot follow this run.");
            }
            var running = Interlocked.Increment(ref _running);
            InterlockedMax(ref _maxObservedRunning, running);
            _ = WatchForExitAsync(run);
            return null;
        }

        /// <summary>
        /// The second way a run's end is noticed. The Exited event is the first and usually wins, but a
        /// run must never hang on one missed event, so the OS is also asked, with a backoff from 100 ms
        /// to 2 s, whether the process is gone (or a zombie nobody reaped).
        /// </summary>
        async Task WatchForExitAsync(LocalRun run)
        {
            var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2));
            try
            {
                while (!run.Completion.Task.IsCompleted)
                {
                    await Waits.EndsFirstAsync(run.Completion.Task, _lifetime.Token, timeout: backoff.Next()).ConfigureAwait(false);
                    if (run.Completion.Task.IsCompleted || _lifetime.IsCancellationRequested) return;
                    if (!ProcessIdentity.IsRunning(run.Pid, run.Identity))
                    {
                        await OnExitedAsync(run).ConfigureAwait(false);
                        // The Exited event may have claimed the end first. If that path has still not
                        // settled the run well after the process is gone, settle it here: a run whose
                        // process has ended must never leave its waiters waiting (a rare hang seen in
                        // the soak loop: the exit file written, the completion never set).
                        if (!await Waits.EndsFirstAsync(run.Completion.Task, _lifetime.Token, timeout: StuckExitGrace).ConfigureAwait(false)
                            && !_lifetime.IsCancellationRequested)
                        {
                            run.Files.AppendToLog($"RayRunner: the end of this run (pid {run.Pid}) was noticed but not settled within {StuckExitGrace.TotalSeconds:0} s; settled from its exit file.");
                            Settle(run, await RunEnding.ReadAsync(run, NewLocator, _lifetime.Token).ConfigureAwait(false));
                        }
                        return;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // The backend was disposed.
            }
        }

        TaskOutput FailToStart(LocalRun run, string message)
        {
            run.State = LocalRunState.Finished;
            run.Files.AppendToLog(message);
            run.Files.WriteExitIfAbsent(ExitRecord.StartFailedWord);
            return RunOutcome.NotStarted(run.RunId, RunStatus.Failed, message, DateTimeOffset.UtcNow);
        }

        /// <summary>How long the watchdog lets a claimed exit go unsettled before it settles the run itself.</summary>
        static readonly TimeSpan StuckExitGrace = TimeSpan.FromSeconds(10);

        async Task OnExitedAsync(LocalRun run)
        {
            if (!run.TryClaimExit()) return;
            TaskOutput? output = null;
            try
            {
                // The Exited event can fire before TryStart has finished its bookkeeping; TryStart runs
                // under the lock, so taking it once means that bookkeeping is done.
                lock (_gate) { }
                output = await RunEnding.ReadAsync(run, NewLocator, _lifetime.Token).ConfigureAwait(false);
            }
            finally
            {
                // Whatever failed above (this runs on a fire-and-forget task, where an exception would
                // vanish), the run is settled: its waiters never wait for an end that already came.
                Settle(run, output ?? RunOutcome.NotStarted(run.RunId, RunStatus.Failed,
                    "The run ended but RayRunner failed while recording its end; its log and exit file are in the run store.", DateTimeOffset.UtcNow)
                    .With(startedAt: run.StartedAt));
            }
        }

        /// <summary>
        /// The one place a started run ends: its slots go back (starting the runs they admit), its
        /// process handle is released, its outcome is set. Once per run, whichever exit signal gets
        /// here first (the Exited event's path, or the watchdog when that path stalls).
        /// </summary>
        void Settle(LocalRun run, TaskOutput output)
        {
            if (!run.TrySettle()) return;
            var finished = new List<KeyValuePair<LocalRun, TaskOutput>>();
            try
            {
                lock (_gate)
                {
                    run.State = LocalRunState.Finished;
                    Interlocked.Decrement(ref _running);
                    if (!_disposed && run.Grant != null) StartAll(_scheduler.Release(run.Grant), finished);
                }
                run.Process?.Dispose();
            }
            finally
            {
                run.Completion.TrySetResult(output);
                Complete(finished);
            }
        }

        static void Complete(List<KeyValuePair<LocalRun, TaskOutput>> finished)
        {
            foreach (var kv in finished) kv.Key.Completion.TrySetResult(kv.Value);
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
                lock (_gate) return run.State == LocalRunState.Waiting ? RunStatus.Pending : RunStatus.Running;
            }
            return Attach(task).Phase;
        }

        /// <summary>A run of another process (or an earlier instance): followed through its locator.</summary>
        AttachedRun Attach(TaskRef task)
        {
            var locator = LocatorFor(task);
            return _attached.GetOrAdd(task.RunId, id => new Lazy<AttachedRun>(() => new AttachedRun(id, locator, _lifetime.Token))).Value;
        }

        LocalLocator LocatorFor(TaskRef task)
        {
            var given = LocalLocator.From(task.Locator);
            if (given != null) return given;
            // A bare reference: the runner asking by run id whether a process that died mid-hand-over
            // got the run here. The run's files, where this backend keeps them, say whether any
            // process started it; only a run never started is unknown (and then submitted again).
            var files = RunFiles.ForLog(_logPathFor(task.RunId));
            if (files.Exists) return NewLocator(files, null);
            throw new ArgumentException($"Run {task.RunId} is not known to this local backend and its reference carries no locator (no log path) to find it by.", nameof(task));
        }

        static void CheckBackend(TaskRef task)
        {
            if (task.Backend != BackendName)
                throw new ArgumentException($"Run {task.RunId} belongs to the '{task.Backend}' backend, not the local one.", nameof(task));
        }

        LocalLocator LocatorOf(LocalRun run)
        {
            var locator = NewLocator(run.Files, run.Program);
            locator.Mode = run.Mode;
            if (run.State == LocalRunState.Running || run.Pid != 0)
            {
                locator.Pid = run.Pid;
                locator.ProcessStart = run.Identity;
                locator.Session = run.SessionLeader;
            }
            else
            {
                // Not started yet: a session leader if and when it starts (the pid file will say where).
                locator.Session = _mode == LaunchMode.Detached && !OnWindows && (File.Exists("/usr/bin/setsid") || File.Exists("/bin/setsid"));
            }
            return locator;
        }

        LocalLocator NewLocator(RunFiles files, string? program) => new LocalLocator
        {
            Files = files,
            HostPid = _hostPid,
            HostStart = _hostIdentity,
            Mode = _mode,
            Program = program ?? "The command",
        };

        static string FirstWord(TaskSpec spec) => spec.Entrypoint.Tokens.Count > 0 ? spec.Entrypoint.Tokens[0] : "The command";

        static Func<string, string> DefaultLogPaths(string? directory)
        {
            var root = directory ?? Path.Combine(Path.GetTempPath(), "rayrunner-local-" + Guid.NewGuid().ToString("N").Substring(0, 12));
            return runId => Path.Combine(root, runId, "run.log");
        }

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
