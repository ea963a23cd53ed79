using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;

namespace RayRunner.Tests.Unit.Fakes
{
    /// <summary>
    /// A fake of the backend seam, in the spirit of tmgg's mock of the <c>ray</c> module, but fresh
    /// per test and observable: it records every call and lets a test decide when each run ends.
    /// By default a run completes at once with tmgg's canned result; set <see cref="AutoComplete"/>
    /// to null to complete runs by hand with <see cref="Complete"/> or <see cref="Fail"/>.
    /// </summary>
    public sealed class FakeRayBackend : IRayBackend, IClusterLifecycle
    {
        readonly ConcurrentDictionary<string, TaskCompletionSource<TaskOutput>> _runs = new(StringComparer.Ordinal);
        readonly object _lock = new();
        int _running;

        public string Name { get; set; } = "fake";
        public string Address { get; set; } = "fake://cluster";
        public bool IsAvailable { get; set; } = true;
        public string? UnavailableReason { get; set; } = "no 'ray' command on PATH (fake)";
        public bool IsInitialized { get; set; }

        /// <summary>What a submitted run reports; null leaves runs pending until the test completes them.</summary>
        public Func<TaskSpec, TaskOutput>? AutoComplete { get; set; } = spec => CannedOutput(spec.RunId);

        /// <summary>Phase reported for runs that are not ready (pending or running).</summary>
        public string NotReadyPhase { get; set; } = RunStatus.Running;
        public Exception? SubmitThrows { get; set; }
        /// <summary>How many runs the fake says fit at once (BackendAbilities.RunsAtOnce); null for no limit.</summary>
        public int? Capacity { get; set; }
        public int RunsAtOnce(TaskOptions options) => Capacity ?? int.MaxValue;
        /// <summary>A fixed capacity (read when the runner asks) and a cluster it may pretend to have started.</summary>
        public BackendAbilities Abilities => new BackendAbilities { RunsAtOnce = RunsAtOnce, Cluster = this };
        /// <summary>The fake keeps no run records: nothing to remove.</summary>
        public Task RemoveAsync(TaskRef task, CancellationToken cancellationToken) => Task.CompletedTask;
        public Exception? CancelThrows { get; set; }
        /// <summary>Cancel ends the run as cancelled (as Ray's stop does); false leaves it running.</summary>
        public bool CancelEndsRun { get; set; } = true;
        /// <summary>Cancel returns only this long after it ended the run (a slow stop request).</summary>
        public TimeSpan CancelReturnsAfter { get; set; }

        public List<ClusterOptions> InitCalls { get; } = new();
        public ConcurrentQueue<(TaskSpec Spec, TaskOptions Options)> Submissions { get; } = new();
        public ConcurrentQueue<TaskRef> CancelCalls { get; } = new();
        public int ShutdownCalls;
        /// <summary>The most runs this backend ever held at once (observed, not assumed).</summary>
        public int MaxObservedRunning;
        public int Running => Volatile.Read(ref _running);

        public IReadOnlyList<string> SubmittedRunIds => Submissions.Select(s => s.Spec.RunId).ToList();

        public static TaskOutput CannedOutput(string workerRunId) => new TaskOutput
        {
            // tmgg's mock reports run_id "test123"; the runner must use its own id instead.
            RunId = "test123",
            Status = RunStatus.Completed,
            Metrics = new Dictionary<string, double> { ["best_val_loss"] = 0.1 },
            StartedAt = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
            CompletedAt = new DateTimeOffset(2024, 1, 1, 1, 0, 0, TimeSpan.Zero),
            DurationSeconds = 3600.0,
        };

        public Task InitAsync(ClusterOptions options, CancellationToken cancellationToken)
        {
            lock (_lock) InitCalls.Add(options);
            IsInitialized = true;
            return Task.CompletedTask;
        }

        public Task<TaskRef> SubmitAsync(TaskSpec spec, TaskOptions options, CancellationToken cancellationToken)
        {
            // Recorded before anything else, a repeat included: the fake records, the tests judge.
            Submissions.Enqueue((spec, options));
            if (SubmitThrows != null) return Task.FromException<TaskRef>(SubmitThrows);
            var tcs = new TaskCompletionSource<TaskOutput>(TaskCreationOptions.RunContinuationsAsynchronously);
            // A repeat is answered as Ray's backend answers a duplicate submission id ("already
            // submitted": the same reference, nothing new runs), so the runner cannot notice it;
            // only the count in Submissions shows it.
            // Keyed by the attempt's submission id, as Ray keys jobs: a retry is a new job, a repeat is not.
            if (!_runs.TryAdd(spec.SubmissionId, tcs)) return Task.FromResult(RefOf(spec.SubmissionId));
            var now = Interlocked.Increment(ref _running);
            InterlockedMax(ref MaxObservedRunning, now);
            var output = AutoComplete?.Invoke(spec);
            if (output != null) End(spec.SubmissionId, tcs, () => tcs.TrySetResult(output));
            return Task.FromResult(RefOf(spec.SubmissionId));
        }

        TaskRef RefOf(string runId) => new TaskRef(Name, runId, new Dictionary<string, string> { ["fake_id"] = "obj-" + runId });

        /// <summary>How many times the runner handed this run to the backend (every attempt, repeats included).</summary>
        public int SubmitAttempts(string runId) => Submissions.Count(s => s.Spec.RunId == runId);

        /// <summary>Run ids handed over more than once: empty unless the runner dispatched a run twice.</summary>
        public IReadOnlyList<string> RepeatedSubmissions =>
            Submissions.GroupBy(s => s.Spec.SubmissionId).Where(g => g.Count() > 1).Select(g => g.Key).ToList();

        /// <summary>Every submission id handed over, in order (a retry's attempts are <c>&lt;runid&gt;-aN</c>).</summary>
        public IReadOnlyList<string> SubmissionIds => Submissions.Select(s => s.Spec.SubmissionId).ToList();

        /// <summary>Forgets a run, as a Ray head that restarted forgets its jobs: waiting on it throws <see cref="RunLostException"/>.</summary>
        public void Lose(string submissionId)
        {
            var tcs = _runs[submissionId];
            End(submissionId, tcs, () => tcs.TrySetException(new RunLostException($"The fake cluster has no job '{submissionId}'.")));
        }

        /// <summary>Awaited at the start of every GetAsync (a test holds the runner's monitor back with it); null: none.</summary>
        public Func<TaskRef, Task>? BeforeGet { get; set; }

        public async Task<TaskOutput> GetAsync(TaskRef task, CancellationToken cancellationToken)
        {
            if (BeforeGet != null) await BeforeGet(task);
            var tcs = Lookup(task);
            var cancelled = Task.Delay(Timeout.Infinite, cancellationToken);
            if (await Task.WhenAny(tcs.Task, cancelled) != tcs.Task) cancellationToken.ThrowIfCancellationRequested();
            return await tcs.Task;
        }

        public Task<WaitResult> WaitAsync(IReadOnlyList<TaskRef> tasks, int numReturns, TimeSpan? timeout, CancellationToken cancellationToken)
        {
            var ready = tasks.Where(t => Lookup(t).Task.IsCompleted).ToList();
            var notReady = tasks.Where(t => !Lookup(t).Task.IsCompleted).ToList();
            var phases = notReady.ToDictionary(t => t.RunId, _ => NotReadyPhase);
            return Task.FromResult(new WaitResult(ready, notReady, phases));
        }

        public Task CancelAsync(TaskRef task, CancellationToken cancellationToken)
        {
            CancelCalls.Enqueue(task);
            if (CancelThrows != null) return Task.FromException(CancelThrows);
            var tcs = Lookup(task);
            if (CancelEndsRun)
                End(task.RunId, tcs, () => tcs.TrySetResult(TaskOutput.Failure(task.RunId, RunStatus.Cancelled, "stopped")));
            return CancelReturnsAfter > TimeSpan.Zero ? Task.Delay(CancelReturnsAfter) : Task.CompletedTask;
        }

        /// <summary>Pretend this backend started its cluster (as Ray's backend does with ray start --head).</summary>
        public bool StartedCluster { get; set; }
        public string? ShutdownMessage { get; private set; }

        public Task ShutdownAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref ShutdownCalls);
            ShutdownMessage = StartedCluster ? "Stopped the fake cluster that RayRunner started." : "Left the fake cluster running: RayRunner did not start it.";
            StartedCluster = false;
            IsInitialized = false;
            return Task.CompletedTask;
        }

        /// <summary>The log each run reports; by default one line naming the run.</summary>
        public Func<string, string> LogText { get; set; } = runId => $"log of {runId}\n";

        /// <summary>Honours <paramref name="tailLines"/> as the real backends do: the last N lines, or the whole log when null.</summary>
        public Task<string> ReadLogAsync(TaskRef task, int? tailLines, CancellationToken cancellationToken)
        {
            var text = LogText(task.RunId);
            if (tailLines == null) return Task.FromResult(text);
            var lines = text.EndsWith("\n", StringComparison.Ordinal) ? text.Substring(0, text.Length - 1).Split('\n') : text.Split('\n');
            var kept = lines.Skip(Math.Max(0, lines.Length - Math.Max(0, tailLines.Value))).ToList();
            return Task.FromResult(kept.Count == 0 ? "" : string.Join("\n", kept) + "\n");
        }

        /// <summary>Ends a run with the given output, as the experiment would.</summary>
        public void Complete(string runId, TaskOutput output)
        {
            var tcs = _runs[runId];
            End(runId, tcs, () => tcs.TrySetResult(output));
        }

        /// <summary>Makes fetching the run's result throw, as ray.get does for a crashed task.</summary>
        public void Fail(string runId, Exception error)
        {
            var tcs = _runs[runId];
            End(runId, tcs, () => tcs.TrySetException(error));
        }

        public bool IsDone(string runId) => _runs.TryGetValue(runId, out var tcs) && tcs.Task.IsCompleted;

        void End(string runId, TaskCompletionSource<TaskOutput> tcs, Action complete)
        {
            lock (_lock)
            {
                if (tcs.Task.IsCompleted) return;
                Interlocked.Decrement(ref _running);
                complete();
            }
        }

        TaskCompletionSource<TaskOutput> Lookup(TaskRef task) =>
            _runs.TryGetValue(task.RunId, out var tcs) ? tcs : throw new KeyNotFoundException($"fake backend has no run {task.RunId}");

        static void InterlockedMax(ref int target, int value)
        {
            int current;
            while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current) { }
        }
    }
}
