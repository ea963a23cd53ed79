using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// The seam between the runner and whatever executes runs. It mirrors the surface of the Python
    /// <c>ray</c> module that tmgg's tests mock (is_initialized, init, <c>.options().remote()</c>,
    /// get, wait, cancel, shutdown, plus "is Ray available"), so the runner's orchestration is
    /// tested against a fake exactly as tmgg tests it.
    /// </summary>
    /// <remarks>
    /// Implementations: the Ray Jobs backend (one run is one Ray job), the local process backend
    /// (child processes), and test fakes. Every call every backend has is here (logs included);
    /// what only some backends can do is declared as data in <see cref="Abilities"/>. Runs beyond the runner's MaxConcurrent never reach the
    /// backend: the runner holds them as <c>queued</c>, so a backend need not queue. A backend must
    /// accept calls from several threads at once.
    /// </remarks>
    public interface IRayBackend
    {
        /// <summary>Short lower-case name recorded with every run: "ray", "local".</summary>
        string Name { get; }

        /// <summary>Where runs go, for display and the run store (a dashboard URL, "localhost").</summary>
        string Address { get; }

        /// <summary>
        /// tmgg's _ensure_ray_available: can this backend run anything at all on this machine?
        /// False makes the runner throw <see cref="RayNotInstalledException"/> with
        /// <see cref="UnavailableReason"/>.
        /// </summary>
        bool IsAvailable { get; }

        /// <summary>Why <see cref="IsAvailable"/> is false, in a sentence (what was looked for and where); null when available.</summary>
        string? UnavailableReason { get; }

        /// <summary>ray.is_initialized(): connected to (or owning) a cluster.</summary>
        bool IsInitialized { get; }

        /// <summary>ray.init(ignore_reinit_error=True, resources=...): connect, starting a local cluster when needed.</summary>
        Task InitAsync(ClusterOptions options, CancellationToken cancellationToken);

        /// <summary>
        /// <c>execute_task.options(**options).remote(task)</c>: hand one run over and return at once.
        /// Must be idempotent per run id (a resubmission of a run the backend already has is not a
        /// second run).
        /// </summary>
        Task<TaskRef> SubmitAsync(TaskSpec spec, TaskOptions options, CancellationToken cancellationToken);

        /// <summary>
        /// ray.get(ref): wait until the run is final and return its output. Safe to call more than
        /// once and from several callers. Throws when the result cannot be fetched.
        /// </summary>
        Task<TaskOutput> GetAsync(TaskRef task, CancellationToken cancellationToken);

        /// <summary>
        /// ray.wait(refs, num_returns, timeout): which runs are final. A timeout of zero polls; null
        /// waits until <paramref name="numReturns"/> are ready.
        /// </summary>
        Task<WaitResult> WaitAsync(IReadOnlyList<TaskRef> tasks, int numReturns, TimeSpan? timeout, CancellationToken cancellationToken);

        /// <summary>ray.cancel(ref): stop the run. Safe to repeat; stopping a finished run is not an error.</summary>
        Task CancelAsync(TaskRef task, CancellationToken cancellationToken);

        /// <summary>ray.shutdown(): disconnect, and stop a cluster only if this backend started it.</summary>
        Task ShutdownAsync(CancellationToken cancellationToken);

        /// <summary>The run's output (the Ray job log, the local log file), or its last <paramref name="tailLines"/> lines; never the whole file when a tail is asked.</summary>
        Task<string> ReadLogAsync(TaskRef task, int? tailLines, CancellationToken cancellationToken);

        /// <summary>Deletes the backend's record of a finished run where it keeps one (<see cref="BackendAbilities.KeepsRunRecords"/>); does nothing otherwise.</summary>
        Task RemoveAsync(TaskRef task, CancellationToken cancellationToken);

        /// <summary>What this backend can do beyond these calls; declared once, never changes.</summary>
        BackendAbilities Abilities { get; }
    }

    /// <summary>
    /// What a backend can do beyond the calls every backend has, declared once as data (no caller
    /// tests a backend's type). A backend without an ability leaves it at its default.
    /// </summary>
    public sealed record BackendAbilities
    {
        /// <summary>No ability beyond the common calls.</summary>
        public static BackendAbilities None { get; } = new BackendAbilities();

        /// <summary>It keeps a record of finished runs that <see cref="IRayBackend.RemoveAsync"/> deletes (Ray's job records).</summary>
        public bool KeepsRunRecords { get; init; }

        /// <summary>
        /// A fixed capacity (the local backend's CPU and GPU slots): how many runs with these options
        /// can run at once on an idle backend, 0 when one never can. The runner hands it at most that
        /// many at once and keeps the rest queued itself; a backend that is full all the same refuses
        /// a run with <see cref="BackendFullException"/> and keeps nothing of it. Null: no fixed capacity.
        /// </summary>
        public Func<TaskOptions, int>? RunsAtOnce { get; init; }

        /// <summary>Requests carry a token (the caller's, or one the backend found by its own rules). Says nothing about the token itself.</summary>
        public bool SendsToken { get; init; }

        /// <summary>The cluster this backend may start and stop (Ray's <c>ray start --head</c>); null when it manages none.</summary>
        public IClusterLifecycle? Cluster { get; init; }
    }

    /// <summary>The cluster ability (<see cref="BackendAbilities.Cluster"/>): on shutdown a backend stops only a cluster it started.</summary>
    public interface IClusterLifecycle
    {
        /// <summary>True while the cluster this backend uses is one it started itself.</summary>
        bool StartedCluster { get; }
        /// <summary>What the last shutdown did: stopped the cluster it started, or left a cluster it found running.</summary>
        string? ShutdownMessage { get; }
    }
}
