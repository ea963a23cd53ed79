using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using RayRunner.Core;

namespace RayRunner.Bench.Store
{
    /// <summary>
    /// Creates N finished runs (default 10,000) in a fresh store, then times: listing with the index
    /// warm (the common case), listing from a new FileRunStore (a new session), listing after the
    /// index was deleted (the rebuild), and loading one run. Usage:
    ///   dotnet run -c Release --project bench/StoreBench -- [runs] [store folder] [--create-only]
    /// --create-only fills the folder and keeps it (bench/scenarios/Listing.ps1 lists it from pwsh).
    /// </summary>
    public static class Program
    {
        public static int Main(string[] args)
        {
            var count = args.Length > 0 ? int.Parse(args[0]) : 10_000;
            var root = args.Length > 1 ? args[1] : Path.Combine(Path.GetTempPath(), "rayrunner-bench-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            var createOnly = args.Contains("--create-only");
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
            try
            {
                var store = new FileRunStore(root, LogRetention.Unlimited);
                var clock = Stopwatch.StartNew();
                // Eight writers, as runs finishing at once in a sweep would be: a result's fsync happens
                // before the store lock is taken, so the flushes overlap (the file system commits them
                // together) instead of queuing behind the lock.
                System.Threading.Tasks.Parallel.For(0, count, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = 8 }, i => store.Save(FinishedRun(i)));
                var create = clock.Elapsed;
                Console.WriteLine($"runs: {count:N0}   store: {root}");
                Console.WriteLine($"create, 8 writers (one atomic record + index line each; a final record is fsync'd): {create.TotalSeconds:F1} s ({create.TotalMilliseconds / count:F2} ms per save)");
                if (createOnly) return 0;

                store.ListAll(); // settles the index (first listing may compact it)
                // What Get-RayRun reads: the summaries (ListAll). List() also reads every whole record.
                Report("list summaries, same store object (warm index)", 5, () => store.ListAll().Summaries.Count, count);
                Report("list summaries, new FileRunStore (new session)", 5, () => new FileRunStore(root).ListAll().Summaries.Count, count);
                Report("list summaries after index.jsonl deleted (rebuild)", 3, () =>
                {
                    File.Delete(Path.Combine(root, "index.jsonl"));
                    return new FileRunStore(root).ListAll().Summaries.Count;
                }, count);
                Report("List(), whole records, new FileRunStore", 3, () => new FileRunStore(root).List().Count, count);
                Report("load one run by id", 200, () => store.TryLoad("run" + (count / 2).ToString("D6")) == null ? 0 : 1, 1);
                return 0;
            }
            finally
            {
                if (!createOnly) try { Directory.Delete(root, recursive: true); } catch (IOException) { }
            }
        }

        static void Report(string what, int repeats, Func<int> action, int expected)
        {
            var times = new List<double>();
            for (var i = 0; i < repeats; i++)
            {
                var clock = Stopwatch.StartNew();
                var n = action();
                times.Add(clock.Elapsed.TotalMilliseconds);
                if (n != expected) throw new InvalidOperationException($"{what}: got {n}, expected {expected}");
            }
            times.Sort();
            Console.WriteLine($"{what}: median {times[times.Count / 2]:F1} ms, best {times[0]:F1} ms ({repeats} runs)");
        }

        static RunRecord FinishedRun(int i)
        {
            var id = "run" + i.ToString("D6");
            var config = new Dictionary<string, object?>
            {
                ["lr"] = 0.001 * (i % 10 + 1),
                ["seed"] = (long)(i % 5),
                ["model"] = new Dictionary<string, object?> { ["layers"] = (long)(i % 4 + 2), ["hidden"] = 256L },
            };
            var created = DateTimeOffset.UtcNow.AddMinutes(-count(i));
            return new RunRecord
            {
                RunId = id,
                Status = RunStatus.Completed,
                Spec = new RunSpecRecord
                {
                    SweepId = "sweep" + (i / 100),
                    ConfigHash = ConfigHash.Compute(config),
                    Config = config,
                    Input = new TaskInput(config, id),
                    Entrypoint = "python train.py {overrides}",
                    Options = new TaskOptions { NumCpus = 1, Resources = new Dictionary<string, double> { ["experiment_slot"] = 1 } },
                    Backend = "local",
                    Address = "localhost",
                    CreatedAt = created,
                },
                Submission = new SubmissionRecord
                {
                    Backend = "local",
                    Locator = new Dictionary<string, string> { ["pid"] = (10000 + i).ToString(), ["start_time"] = "proc:123456" },
                    SubmittedAt = created.AddSeconds(1),
                },
                Result = new TaskOutput
                {
                    RunId = id,
                    Status = RunStatus.Completed,
                    Metrics = new Dictionary<string, double> { ["loss"] = 1.0 / (i + 1), ["accuracy"] = 0.9 },
                    StartedAt = created.AddSeconds(1),
                    CompletedAt = created.AddSeconds(61),
                    DurationSeconds = 60,
                },
                UpdatedAt = created.AddSeconds(61),
            };

            static double count(int n) => 20_000 - n;
        }
    }
}
