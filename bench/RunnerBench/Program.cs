using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;

// Usage: dotnet run -c Release --project bench/RunnerBench [-- runs]
// Prints, per MaxConcurrent, the wall time of a whole sweep and what one run costs in time and
// allocations. The backend answers instantly, so every microsecond shown is the runner's own.
var runs = args.Length > 0 ? int.Parse(args[0]) : 20_000;
Console.WriteLine($"RunnerBench: {runs} runs per sweep, instant backend, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");
Console.WriteLine($"{"MaxConcurrent",13} {"sweep ms",10} {"runs/s",10} {"us/run",8} {"KB alloc/run",13}");

await Measure(4, 2_000, print: false); // warm-up: JIT and thread pool
foreach (var max in new[] { 1, 4, 64, 1024 })
    await Measure(max, runs, print: true);

async Task Measure(int maxConcurrent, int count, bool print)
{
    var configs = Enumerable.Range(0, count)
        .Select(i => (object)new Dictionary<string, object?> { ["lr"] = 0.001 * (i % 10), ["seed"] = i, ["model"] = new Dictionary<string, object?> { ["dim"] = 64 } })
        .ToList();
    using var runner = await RayRunner.Core.ExperimentRunner.CreateAsync(new InstantBackend(), new RayRunnerOptions { MaxConcurrent = maxConcurrent, Entrypoint = "python train.py {overrides}" });
    GC.Collect();
    var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
    var clock = Stopwatch.StartNew();
    var results = await runner.RunSweepAsync(configs);
    clock.Stop();
    var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
    if (results.Count != count || results.Any(r => r.Status != RunStatus.Completed)) throw new InvalidOperationException("a run did not complete");
    if (print)
        Console.WriteLine($"{maxConcurrent,13} {clock.ElapsedMilliseconds,10} {count / clock.Elapsed.TotalSeconds,10:F0} {clock.Elapsed.TotalMilliseconds * 1000 / count,8:F1} {allocated / 1024.0 / count,13:F1}");
}

/// <summary>Finishes every run the moment it is submitted.</summary>
sealed class InstantBackend : IRayBackend
{
    static readonly TaskOutput Done = new TaskOutput { Status = RunStatus.Completed, Metrics = new Dictionary<string, double> { ["loss"] = 0.1 } };
    public string Name => "instant";
    public string Address => "memory";
    public bool IsAvailable => true;
    public string? UnavailableReason => null;
    public bool IsInitialized { get; private set; }
    public Task InitAsync(ClusterOptions options, CancellationToken cancellationToken) { IsInitialized = true; return Task.CompletedTask; }
    public Task<TaskRef> SubmitAsync(TaskSpec spec, TaskOptions options, CancellationToken cancellationToken) => Task.FromResult(new TaskRef(Name, spec.RunId));
    public Task<TaskOutput> GetAsync(TaskRef task, CancellationToken cancellationToken) => Task.FromResult(Done);
    public Task<WaitResult> WaitAsync(IReadOnlyList<TaskRef> tasks, int numReturns, TimeSpan? timeout, CancellationToken cancellationToken) =>
        Task.FromResult(new WaitResult(tasks, Array.Empty<TaskRef>()));
    public Task CancelAsync(TaskRef task, CancellationToken cancellationToken) => Task.CompletedTask;
    public Task ShutdownAsync(CancellationToken cancellationToken) { IsInitialized = false; return Task.CompletedTask; }
    public Task<string> ReadLogAsync(TaskRef task, int? tailLines, CancellationToken cancellationToken) => Task.FromResult("");
    public Task RemoveAsync(TaskRef task, CancellationToken cancellationToken) => Task.CompletedTask;
    public BackendAbilities Abilities => BackendAbilities.None;
}
