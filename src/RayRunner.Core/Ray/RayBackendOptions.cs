using System;
using System.Collections.Generic;
using System.Net.Http;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// Everything the Ray Jobs backend can be told. Defaults suit a real cluster; tests shrink the
    /// timings and inject <see cref="Handler"/> and <see cref="Environment"/>.
    /// </summary>
    public sealed record RayBackendOptions
    {
        /// <summary>Dashboard URL; null: RAY_API_SERVER_ADDRESS / RAY_ADDRESS when http(s), else http://127.0.0.1:<see cref="DashboardPort"/>.</summary>
        public string? Address { get; init; }

        /// <summary>Bearer token; null: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token. Never printed, logged or stored.</summary>
        public string? Token { get; init; }

        /// <summary>Extra headers on every request (a proxy's own auth, say). Browser-like headers are refused: Ray answers 405 to them.</summary>
        public IReadOnlyDictionary<string, string>? Headers { get; init; }

        /// <summary>Never run <c>ray start --head</c>: when nothing answers, initialization fails.</summary>
        public bool NoAutoStart { get; init; }

        /// <summary><c>--num-cpus</c> / <c>--num-gpus</c> of a cluster RayRunner starts; null lets Ray detect them.</summary>
        public int? NumCpus { get; init; }
        public int? NumGpus { get; init; }

        /// <summary>Dashboard port of a cluster RayRunner starts (and of the default address).</summary>
        public int DashboardPort { get; init; } = 8265;

        /// <summary>The HTTP stack to use; null builds a plain <see cref="HttpClientHandler"/>. Not disposed by the backend when given.</summary>
        public HttpMessageHandler? Handler { get; init; }

        /// <summary>Limit for each ordinary request (status, stop, delete, package check).</summary>
        public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

        /// <summary>
        /// Limit for a submit. Generous on purpose: a client that gives up during a POST can leave
        /// an orphan job (ray#62766); after a timeout the job is looked up by id before any resubmit.
        /// </summary>
        public TimeSpan SubmitTimeout { get; init; } = TimeSpan.FromSeconds(30);

        /// <summary>Limit for uploading a working-directory package.</summary>
        public TimeSpan UploadTimeout { get; init; } = TimeSpan.FromMinutes(5);

        /// <summary>Limit for one "does a dashboard answer?" probe.</summary>
        public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(2);

        /// <summary>How long <c>ray start</c> plus the dashboard's readiness may take.</summary>
        public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(90);

        /// <summary>How long <c>ray stop</c> may take (its own grace period is 16 s).</summary>
        public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(60);

        /// <summary>The <c>ray</c> executable to run; null searches PATH.</summary>
        public string? RayCommand { get; init; }

        /// <summary>Reads environment variables; tests inject a dictionary instead of touching the process environment.</summary>
        public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

        /// <summary>The status poller's fastest tick (used after any change).</summary>
        public TimeSpan PollIntervalMin { get; init; } = TimeSpan.FromMilliseconds(500);

        /// <summary>The slowest tick the poller backs off to while nothing changes.</summary>
        public TimeSpan PollIntervalMax { get; init; } = TimeSpan.FromSeconds(5);

        /// <summary>How long the dashboard may fail every status request before waiting runs are failed (KubeRay: 300 s).</summary>
        public TimeSpan PollFailureTolerance { get; init; } = TimeSpan.FromMinutes(5);

        /// <summary>Retries of one idempotent request after a transient failure (5xx, timeout, dropped connection).</summary>
        public int MaxRetries { get; init; } = 6;

        /// <summary>First delay between retries; doubles each time, capped at 5 s.</summary>
        public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(250);

        /// <summary>How long a tail of a still-running job's log waits for more output before it returns what it has.</summary>
        public TimeSpan TailIdleCutoff { get; init; } = TimeSpan.FromSeconds(2);

        /// <summary>How long reading a finished job's log over the tail WebSocket may take in all.</summary>
        public TimeSpan LogReadTimeout { get; init; } = TimeSpan.FromMinutes(10);

        /// <summary>When the tail WebSocket is unavailable, GET /logs is read only up to this many bytes (it returns the whole file).</summary>
        public int LogFallbackMaxBytes { get; init; } = 16 * 1024 * 1024;

        /// <summary>Working-directory packages above this are refused before upload (the dashboard's body limit is 100 MiB).</summary>
        public long MaxPackageBytes { get; init; } = 100L * 1024 * 1024;

        /// <summary>Extra gitwildmatch patterns left out of working-directory packages (Ray's runtime_env excludes).</summary>
        public IReadOnlyList<string>? WorkingDirExcludes { get; init; }

        /// <summary>Where messages about the cluster go (started, stopped, left running); null: nowhere.</summary>
        public Action<string>? Log { get; init; }

        /// <summary>Where warnings go while runs are followed (the dashboard stopped answering, answers again); null: nowhere. Any thread.</summary>
        public Action<string>? Warn { get; init; }

        /// <summary>Remembers the local heads RayRunner started beyond this process (null: only this backend remembers).</summary>
        public IStartedHeadLedger? StartedHeads { get; init; }

        /// <summary>How long the dashboard may fail every status request before <see cref="Warn"/> hears of it (well before <see cref="PollFailureTolerance"/>).</summary>
        public TimeSpan HeadLostWarningAfter { get; init; } = TimeSpan.FromSeconds(3);

        /// <summary>
        /// Where a run's log is kept once its job has ended (the run store's file for the run, the
        /// same one the local backend writes); null: logs stay only on the cluster and, since nothing
        /// is saved, no job is ever deleted.
        /// </summary>
        public Func<string, string>? LogPathFor { get; init; }

        /// <summary>A kept log holds at most this many bytes (the run store's per-run cap); the rest stays on the cluster.</summary>
        public long StoredLogMaxBytes { get; init; } = 64L * 1024 * 1024;

        /// <summary>
        /// Leave finished jobs on the head. By default a job is deleted (DELETE /api/jobs/{id}) once
        /// its result and full log are in the run store: every job keeps a supervisor record on the
        /// head, and hundreds of them slow the dashboard down (ray#60159, ray#37894).
        /// </summary>
        public bool KeepJobs { get; init; }

        /// <summary>A run PENDING longer than this gets one warning saying what it asked for and what the cluster has free (ray#55133).</summary>
        public TimeSpan PendingWarningAfter { get; init; } = TimeSpan.FromSeconds(60);

        /// <summary>Seconds a run may stay PENDING before it gets a warning (default 60), read by BackendFactory.</summary>
        public const string PendingWarningVariable = "RAYRUNNER_PENDING_WARNING_SECONDS";
        /// <summary>Seconds a head may give no job status before the runs it holds fail as lost (default 300), read by BackendFactory.</summary>
        public const string HeadLostGraceVariable = "RAYRUNNER_HEAD_LOST_GRACE_SECONDS";

        /// <summary>The token is never part of the text form.</summary>
        public override string ToString() =>
            $"RayBackendOptions(Address={Address ?? "(default)"}, Token={(Token == null ? "(none)" : "(set)")}, NoAutoStart={NoAutoStart}, DashboardPort={DashboardPort})";
    }
}
