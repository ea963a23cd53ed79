using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Tests.Unit.Fakes;

namespace RayRunner.Tests.Unit.Store
{
    /// <summary>A store folder of its own for one test, deleted afterwards.</summary>
    public sealed class TempFolder : IDisposable
    {
        public TempFolder()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rayrunner-test-" + Guid.NewGuid().ToString("N").Substring(0, 12));
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        public string Sub(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    public static class StoreRecords
    {
        /// <summary>This process's pid with a start time it never had: a "reused pid", so a dead process.</summary>
        public static ProcessIdentity DeadProcess { get; } = new ProcessIdentity
        {
            Pid = ProcessIdentity.Current.Pid,
            StartTime = "proc:0-not-this-process",
            Host = ProcessIdentity.Current.Host,
        };

        /// <summary>A queued run as a runner records it before dispatch.</summary>
        public static RunRecord Queued(string runId, string backend, string entrypoint, string? sweepId = null,
            IReadOnlyDictionary<string, object?>? config = null, ProcessIdentity? owner = null, DispatchClaim? claim = null)
        {
            config ??= new Dictionary<string, object?> { ["lr"] = 0.01, ["run"] = runId };
            var input = new TaskInput(config, runId) { TimeoutSeconds = 600 };
            return new RunRecord
            {
                RunId = runId,
                Status = RunStatus.Queued,
                Spec = new RunSpecRecord
                {
                    SweepId = sweepId,
                    ConfigHash = ConfigHash.Compute(config),
                    Config = config,
                    Input = input,
                    Entrypoint = entrypoint,
                    Options = new TaskOptions { NumCpus = 1, Resources = new Dictionary<string, double> { ["experiment_slot"] = 1 } },
                    Backend = backend,
                    Address = "test://",
                    CreatedAt = DateTimeOffset.UtcNow,
                },
                Owner = owner,
                Claim = claim,
                UpdatedAt = DateTimeOffset.UtcNow,
            };
        }

        public static TaskOutput Completed(string runId, double loss) => new TaskOutput
        {
            RunId = runId,
            Status = RunStatus.Completed,
            Metrics = new Dictionary<string, double> { ["loss"] = loss },
            StartedAt = DateTimeOffset.UtcNow.AddMinutes(-1),
            CompletedAt = DateTimeOffset.UtcNow,
            DurationSeconds = 60,
        };
    }

    /// <summary>The fake backend plus run records that <see cref="RemoveAsync"/> deletes, recording what was removed.</summary>
    public sealed class RemovingFakeBackend : IRayBackend
    {
        public RemovingFakeBackend(FakeRayBackend inner) => Inner = inner;

        public FakeRayBackend Inner { get; }
        public List<string> Removed { get; } = new List<string>();
        public Exception? RemoveThrows { get; set; }

        public string Name => Inner.Name;
        public string Address => Inner.Address;
        public bool IsAvailable => Inner.IsAvailable;
        public string? UnavailableReason => Inner.UnavailableReason;
        public bool IsInitialized => Inner.IsInitialized;
        public Task InitAsync(ClusterOptions options, CancellationToken cancellationToken) => Inner.InitAsync(options, cancellationToken);
        public Task<TaskRef> SubmitAsync(TaskSpec spec, TaskOptions options, CancellationToken cancellationToken) => Inner.SubmitAsync(spec, options, cancellationToken);
        public Task<TaskOutput> GetAsync(TaskRef task, CancellationToken cancellationToken) => Inner.GetAsync(task, cancellationToken);
        public Task<WaitResult> WaitAsync(IReadOnlyList<TaskRef> tasks, int numReturns, TimeSpan? timeout, CancellationToken cancellationToken) =>
            Inner.WaitAsync(tasks, numReturns, timeout, cancellationToken);
        public Task CancelAsync(TaskRef task, CancellationToken cancellationToken) => Inner.CancelAsync(task, cancellationToken);
        public Task ShutdownAsync(CancellationToken cancellationToken) => Inner.ShutdownAsync(cancellationToken);
        public Task<string> ReadLogAsync(TaskRef task, int? tailLines, CancellationToken cancellationToken) => Inner.ReadLogAsync(task, tailLines, cancellationToken);
        public BackendAbilities Abilities => Inner.Abilities with { KeepsRunRecords = true };

        public Task RemoveAsync(TaskRef task, CancellationToken cancellationToken)
        {
            if (RemoveThrows != null) return Task.FromException(RemoveThrows);
            lock (Removed) Removed.Add(task.RunId);
            return Task.CompletedTask;
        }
    }
}
