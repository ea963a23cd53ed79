using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;

namespace RayRunner.CrashHost
{
    /// <summary>
    /// Records every hand-over of a run to the backend, before the backend sees it (so before any
    /// claim of its own: the files backend's mkdir, the local backend's run files, Ray's duplicate-id
    /// check): one line with this process's id in &lt;attempts&gt;/&lt;run_id&gt;. The backends make a
    /// repeated hand-over harmless on their own; this log is how the kill tests see the runner's.
    /// </summary>
    public class RecordingBackend : IRayBackend
    {
        public const string AttemptsFolder = "attempts";

        readonly string _attempts;

        protected RecordingBackend(IRayBackend inner, string attempts)
        {
            Inner = inner;
            _attempts = attempts;
            Directory.CreateDirectory(attempts);
        }

        protected IRayBackend Inner { get; }

        /// <summary>Wraps <paramref name="inner"/>, keeping the optional abilities the runner looks for (capacity, stranded runs).</summary>
        public static IRayBackend Wrap(IRayBackend inner, string work)
        {
            var attempts = Path.Combine(work, AttemptsFolder);
            return inner is IBackendCapacity && inner is IStrandedRunDetector
                ? new WithCapacity(inner, attempts)
                : new RecordingBackend(inner, attempts);
        }

        /// <summary>The process ids that handed <paramref name="runId"/> to a backend, one per hand-over.</summary>
        public static IReadOnlyList<int> Attempts(string work, string runId)
        {
            var path = Path.Combine(work, AttemptsFolder, runId);
            var pids = new List<int>();
            if (!File.Exists(path)) return pids;
            foreach (var line in File.ReadAllLines(path))
                if (int.TryParse(line, out var pid)) pids.Add(pid);
            return pids;
        }

        public Task<TaskRef> SubmitAsync(TaskSpec spec, TaskOptions options, CancellationToken cancellationToken)
        {
            // One short append (O_APPEND): whole lines even when two processes write at once.
            File.AppendAllText(Path.Combine(_attempts, spec.RunId), Environment.ProcessId + "\n");
            return Inner.SubmitAsync(spec, options, cancellationToken);
        }

        public string Name => Inner.Name;
        public string Address => Inner.Address;
        public bool IsAvailable => Inner.IsAvailable;
        public string? UnavailableReason => Inner.UnavailableReason;
        public bool IsInitialized => Inner.IsInitialized;
        public Task InitAsync(ClusterOptions options, CancellationToken cancellationToken) => Inner.InitAsync(options, cancellationToken);
        public Task<TaskOutput> GetAsync(TaskRef task, CancellationToken cancellationToken) => Inner.GetAsync(task, cancellationToken);
        public Task<WaitResult> WaitAsync(IReadOnlyList<TaskRef> tasks, int numReturns, TimeSpan? timeout, CancellationToken cancellationToken) =>
            Inner.WaitAsync(tasks, numReturns, timeout, cancellationToken);
        public Task CancelAsync(TaskRef task, CancellationToken cancellationToken) => Inner.CancelAsync(task, cancellationToken);
        public Task ShutdownAsync(CancellationToken cancellationToken) => Inner.ShutdownAsync(cancellationToken);

        /// <summary>The local backend's shape: the runner hands it only what fits, and finds runs stranded in a dead host.</summary>
        sealed class WithCapacity : RecordingBackend, IBackendCapacity, IStrandedRunDetector
        {
            public WithCapacity(IRayBackend inner, string attempts) : base(inner, attempts) { }
            public int RunsAtOnce(TaskOptions options) => ((IBackendCapacity)Inner).RunsAtOnce(options);
            public bool IsStranded(TaskRef task) => ((IStrandedRunDetector)Inner).IsStranded(task);
        }
    }
}
