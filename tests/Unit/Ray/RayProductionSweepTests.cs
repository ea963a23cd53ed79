using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Ray;
using RayRunner.Tests.Unit.Ray.StandIn;
using RayRunner.Tests.Unit.Store;
using Xunit;
using Runner = RayRunner.Core.ExperimentRunner;

namespace RayRunner.Tests.Unit.Ray
{
    /// <summary>
    /// Issue 15's "done when", all of it in one sweep: retries, faults, job deletion and kept logs
    /// together, as a production cluster would see them.
    /// </summary>
    public class RayProductionSweepTests : IDisposable
    {
        static readonly TimeSpan Generous = RayTestSupport.Generous;
        readonly TempFolder _temp = new TempFolder();
        public void Dispose() => _temp.Dispose();

        [Fact]
        public async Task A_200_run_sweep_with_retries_under_faults_completes_leaves_no_job_on_the_head_and_every_log_reads_after_the_head_is_gone()
        {
            var home = _temp.Sub("home");
            List<ExperimentResult> results;
            await using (var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 256, TailDropsLastLines = 2 }))
            {
                var store = new FileRunStore(home, LogRetention.Unlimited);
                var backend = new RayJobsBackend(RayTestSupport.Fast(standIn.Address, requestTimeout: TimeSpan.FromMilliseconds(750), maxRetries: 10) with { LogPathFor = store.LogPathFor });
                using var _ = backend;
                using var runner = await Runner.CreateAsync(backend, new RayRunnerOptions { MaxConcurrent = 16, Entrypoint = RayTestSupport.Entrypoint, Store = store });

                standIn.Faults.StallFor = TimeSpan.FromSeconds(2);
                standIn.Faults.Once("POST", p => p == "/api/jobs/", FaultKind.LoseResponse);
                standIn.Faults.Random = StandInFaults.RandomPlan(0.10, seed: 20261204, FaultKind.ServerError, FaultKind.Drop, FaultKind.LoseResponse, FaultKind.Stall);
                // Every tenth run fails on its first attempt.
                var configs = Enumerable.Range(0, 200).Select(i => (object)(i % 10 == 7
                    ? new Dictionary<string, object?> { ["value"] = (long)i, ["failfirst"] = 1L }
                    : new Dictionary<string, object?> { ["value"] = (long)i })).ToList();
                using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
                results = (await runner.RunSweepAsync(configs, new RunRequest { Retry = RetryPolicy.Create(2, null) }, cts.Token)).ToList();
                standIn.Faults.Random = null;

                for (var i = 0; i < 200; i++)
                {
                    Assert.True(results[i].Status == RunStatus.Completed, $"run {i}: {results[i].Status} {results[i].ErrorMessage}");
                    Assert.Equal(i, results[i].Metrics["value"]);
                    // Only the runs made to fail needed a second attempt: an injected fault never fails a run.
                    Assert.Equal(i % 10 == 7 ? 2 : 1, store.TryLoad(results[i].RunId)!.Attempt);
                }
                Assert.True(standIn.MaxActive <= 16, $"at most MaxConcurrent jobs are handed to Ray at once, saw {standIn.MaxActive}");
                // One Ray job per attempt, each created once: 200 first attempts and 20 second ones.
                Assert.Equal(220, standIn.JobsCreated.Count);
                Assert.All(standIn.JobsCreated, kv => Assert.Equal(1, kv.Value));
                Assert.Empty(standIn.DuplicateSubmits);
                Assert.True(standIn.Faults.TotalInjected >= 40, $"only {standIn.Faults.TotalInjected} faults were injected");

                // Zero jobs left on the head once every result and log is kept.
                Assert.Equal(0, await backend.Janitor.DrainAsync(Generous, default));
                var left = await RayTestSupport.EventuallyAsync(() => Task.FromResult(standIn.AllJobs().Count(j => j.SubmissionId != null)), n => n == 0, Generous);
                Assert.Equal(0, left);
            }

            // The head is gone: every attempt's log reads from the store alone, in full (the tail
            // dropped its last lines; the kept log has the result line).
            var reader = FileRunStore.OpenForReading(home);
            var attemptsRead = 0;
            foreach (var result in results)
            {
                var record = reader.TryLoad(result.RunId)!;
                var final = StoredRunLog.FileOf(record);
                Assert.True(final != null && File.Exists(final), $"run {result.RunId}: no kept log ({final})");
                Assert.Contains("RAYRUNNER_RESULT", File.ReadAllText(final!));
                foreach (var attempt in record.Attempts ?? Array.Empty<AttemptRecord>())
                {
                    var file = StoredRunLog.FileOf(attempt.Submission);
                    Assert.True(file != null && File.Exists(file), $"run {result.RunId} attempt {attempt.Attempt}: no kept log ({file})");
                    Assert.Contains("fails on purpose", File.ReadAllText(file!));
                    attemptsRead++;
                }
            }
            Assert.Equal(20, attemptsRead);
        }
    }
}
