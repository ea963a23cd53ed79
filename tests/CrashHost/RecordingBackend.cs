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
    public sealed class RecordingBackend : IRayBackend
    {
        public const string AttemptsFolder = "attempts";

        readonly string _attempts;

        RecordingBackend(IRayBackend inner, string attempts)
        {
            Inner = inner;
            _attempts = attempts;
            Directory.CreateDirectory(attempts);
        }

        IRayBackend Inner { get; }

        /// <summary>Wraps <paramref name="inner"/>, keeping its abilities (they are data: capacity, cluster).</summary>
        public static IRayBackend Wrap(IRayBackend inner, string work) => new RecordingBackend(inner, Path.Combine(work, AttemptsFolder));

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
            // Per submission id: a retry's attempt (<runid>-aN) is a hand-over of its own.
            File.AppendAllText(Path.Combine(_attempts, spec.SubmissionId), Environment.ProcessId + "\n");
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
        public Task<string> ReadLogAsync(TaskRef task, int? tailLines, CancellationToken cancellationToken) => Inner.ReadLogAsync(task, tailLines, cancellationToken);
        public Task RemoveAsync(TaskRef task, CancellationToken cancellationToken) => Inner.RemoveAsync(task, cancellationToken);
        public BackendAbilities Abilities => Inner.Abilities;
    }
}
