using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using RayRunner.CrashHost;
using RayRunner.Core;
using RayRunner.Core.Local;
using RayRunner.Core.Ray;
using RayRunner.Tests.Unit.Ray;
using RayRunner.Tests.Unit.Ray.StandIn;

namespace RayRunner.Tests.Unit.Store
{
    /// <summary>
    /// The backend a kill test runs against, for the host process (command-line arguments) and for
    /// the test itself (an object over the same runs). See docs/run-store.md, "Kill tests".
    /// </summary>
    public abstract class KillTestBackend : IDisposable
    {
        protected KillTestBackend(string work, string store)
        {
            Work = work;
            Store = store;
        }

        /// <summary>Holds experiment.sh and executions/&lt;run_id&gt; (one line per time the experiment really started).</summary>
        public string Work { get; }
        /// <summary>The run store folder the hosts and the test share.</summary>
        public string Store { get; }
        /// <summary>The backend's name as recorded with each run ("files", "local", "ray").</summary>
        public abstract string Name { get; }
        public abstract string[] HostArguments { get; }
        public abstract Task<IRayBackend> CreateAsync();
        /// <summary>Has the backend been handed this run (whether or not it started yet)?</summary>
        public abstract bool HasRun(string runId);
        /// <summary>How many submissions of this run the backend accepted, where it counts them itself (Ray: jobs created per submission id); null otherwise.</summary>
        public virtual int? Accepted(string runId) => null;
        /// <summary>How many submit requests for this run reached the backend, refused repeats included (Ray: POSTs per id); null where it cannot tell.</summary>
        public virtual int? Received(string runId) => null;
        public virtual void Dispose() { }

        public static async Task<KillTestBackend> CreateAsync(string name, string work, string store) => name switch
        {
            "files" => new FilesKillTestBackend(work, store),
            "local" => new LocalKillTestBackend(work, store),
            "ray" => await RayKillTestBackend.StartAsync(work, store),
            _ => throw new ArgumentException($"no kill-test backend '{name}'"),
        };

        /// <summary>The processes that handed this run to the backend, one entry per hand-over, logged before the backend saw it.</summary>
        public IReadOnlyList<int> Attempts(string runId) => RecordingBackend.Attempts(Work, runId);

        /// <summary>How many times the experiment of this run actually started.</summary>
        public int Executions(string runId)
        {
            var path = Path.Combine(Work, "executions", runId);
            return File.Exists(path) ? File.ReadAllLines(path).Count(l => l.Length > 0) : 0;
        }
    }

    /// <summary>The cross-process test backend of the host project: real child processes, state in files.</summary>
    public sealed class FilesKillTestBackend : KillTestBackend
    {
        public FilesKillTestBackend(string work, string store) : base(work, store) { }
        public override string Name => FilesBackend.BackendName;
        public override string[] HostArguments => new[] { "--backend", "files" };
        public override Task<IRayBackend> CreateAsync() => Task.FromResult<IRayBackend>(new FilesBackend(Path.Combine(Work, "backend")));
        public override bool HasRun(string runId) => Directory.Exists(Path.Combine(Work, "backend", "runs", runId, "started"));
    }

    /// <summary>
    /// The real local process backend. The host builds it through BackendFactory with the store's
    /// LogPathFor, so each run's files (log, pid, exit code) sit in its store folder where any
    /// process finds them; the test builds the same directly (no process-wide factory hook involved).
    /// </summary>
    public sealed class LocalKillTestBackend : KillTestBackend
    {
        public LocalKillTestBackend(string work, string store) : base(work, store) { }
        public override string Name => LocalProcessBackend.BackendName;
        public override string[] HostArguments => new[] { "--backend", "local" };
        public override Task<IRayBackend> CreateAsync() =>
            Task.FromResult<IRayBackend>(new LocalProcessBackend(new LocalBackendOptions { MaxConcurrent = 4, LogPathFor = new FileRunStore(Store).LogPathFor }));
        // SubmitAsync creates the run's log before anything else (LogPathFor itself would create the folder: not used to look).
        // LogPathFor knows where a retry's attempt (<runid>-aN) logs: beside its run's first attempt.
        public override bool HasRun(string runId) => File.Exists(new FileRunStore(Store).LogPathFor(runId));
    }

    /// <summary>
    /// Ray through the dashboard stand-in, which runs in this test process (so it outlives every
    /// killed host), listens on 127.0.0.1 and really runs each entrypoint with /bin/sh -c.
    /// </summary>
    public sealed class RayKillTestBackend : KillTestBackend
    {
        readonly RayDashboardStandIn _standIn;

        RayKillTestBackend(string work, string store, RayDashboardStandIn standIn) : base(work, store) => _standIn = standIn;

        public static async Task<RayKillTestBackend> StartAsync(string work, string store) =>
            // Enough experiment slots for two hosts at once: the runners' MaxConcurrent is the limit under test.
            new RayKillTestBackend(work, store, await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 64 }));

        public override string Name => RayJobsBackend.BackendName;
        public override string[] HostArguments => new[] { "--backend", "ray", "--address", _standIn.Address };
        public override async Task<IRayBackend> CreateAsync() => await RayTestSupport.ConnectAsync(_standIn);
        public override bool HasRun(string runId) => _standIn.Job(runId) != null;
        public override int? Accepted(string runId) => _standIn.JobsCreated.TryGetValue(runId, out var n) ? n : 0;
        public override int? Received(string runId) => _standIn.SubmitPosts.TryGetValue(runId, out var n) ? n : 0;
        public override void Dispose() => _standIn.Dispose();
    }
}
