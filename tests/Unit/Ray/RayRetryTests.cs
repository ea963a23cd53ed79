using System;
using System.Collections.Generic;
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
    /// Retries against the dashboard stand-in: each attempt is its own Ray job with a derived
    /// submission id, created once; the stand-in's refusal of a duplicate id is never met.
    /// </summary>
    public class RayRetryTests : IDisposable
    {
        static readonly TimeSpan Generous = RayTestSupport.Generous;
        readonly TempFolder _temp = new TempFolder();
        public void Dispose() => _temp.Dispose();

        async Task<(RayJobsBackend, Runner, FileRunStore)> CreateAsync(RayDashboardStandIn standIn, int maxConcurrent, RayBackendOptions? options = null)
        {
            var backend = new RayJobsBackend(options ?? RayTestSupport.Fast(standIn.Address));
            var store = new FileRunStore(_temp.Sub("store"), LogRetention.Unlimited);
            var runner = await Runner.CreateAsync(backend, new RayRunnerOptions { MaxConcurrent = maxConcurrent, Entrypoint = RayTestSupport.Entrypoint, Store = store });
            return (backend, runner, store);
        }

        static object Config(int i, bool failFirst) => failFirst
            ? new Dictionary<string, object?> { ["value"] = (long)i, ["failfirst"] = 1L }
            : new Dictionary<string, object?> { ["value"] = (long)i };

        [Fact]
        public async Task Runs_that_fail_once_are_retried_as_new_jobs_with_derived_ids_and_every_attempt_log_stays_readable()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 64 });
            var (backend, runner, store) = await CreateAsync(standIn, maxConcurrent: 8);
            using var _ = backend;
            using var __ = runner;

            var failFirst = new HashSet<int> { 3, 13 };
            var configs = Enumerable.Range(0, 20).Select(i => Config(i, failFirst.Contains(i))).ToList();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            var results = await runner.RunSweepAsync(configs, new RunRequest { Retry = RetryPolicy.Create(2, null) }, cts.Token);

            Assert.All(results, r => Assert.True(r.Status == RunStatus.Completed, $"{r.RunId}: {r.Status} {r.ErrorMessage}"));
            var retried = failFirst.Select(i => results[i].RunId).ToList();
            var expectedJobs = results.Select(r => r.RunId).Concat(retried.Select(id => id + "-a2")).OrderBy(x => x, StringComparer.Ordinal);
            Assert.Equal(expectedJobs, standIn.JobsCreated.Keys.OrderBy(x => x, StringComparer.Ordinal));
            Assert.All(standIn.JobsCreated, kv => Assert.Equal(1, kv.Value));
            Assert.Empty(standIn.DuplicateSubmits);
            Assert.All(standIn.SubmitPosts, kv => Assert.Equal(1, kv.Value));

            foreach (var id in retried)
            {
                // The first attempt's job failed and is kept; its log is read through its own submission id.
                Assert.Equal("FAILED", standIn.Job(id)!.Status);
                Assert.Equal("SUCCEEDED", standIn.Job(id + "-a2")!.Status);
                var first = await runner.GetAttemptLogAsync(id, 1, cancellationToken: cts.Token);
                Assert.Contains($"first attempt of {id} fails on purpose", first);
                var last = await runner.GetLogAsync(id, cancellationToken: cts.Token);
                Assert.DoesNotContain("fails on purpose", last);
                Assert.Contains($"run {id} starting", last); // the experiment sees its run id, not the attempt's
                var record = store.TryLoad(id)!;
                Assert.Equal(2, record.Attempt);
                Assert.Equal(id + "-a2", record.Submission!.Locator![RayJobsBackend.LocatorSubmissionId]);
                Assert.Equal(id, record.Attempts!.Single().Submission!.Locator![RayJobsBackend.LocatorSubmissionId]);
            }
        }

        [Fact]
        public async Task A_job_the_head_forgot_is_retried_when_lost_is_named()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { ExperimentSlots = 8 });
            var (backend, runner, store) = await CreateAsync(standIn, maxConcurrent: 2);
            using var _ = backend;
            using var __ = runner;
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));

            var config = new Dictionary<string, object?> { ["value"] = 7L, ["sleep"] = 2L };
            var handle = await runner.SpawnExperimentAsync(config, new RunRequest { Retry = RetryPolicy.Create(1, new[] { RetryPolicy.OnLost }) }, cts.Token);
            await RayTestSupport.EventuallyAsync(() => Task.FromResult(standIn.Job(handle.RunId)?.Status), s => s == "RUNNING", Generous);
            Assert.True(standIn.ForgetJob(handle.RunId)); // as a head that restarted

            var result = await runner.GetResultAsync(handle.RunId, cts.Token);

            Assert.Equal(RunStatus.Completed, result.Status);
            Assert.Equal(7.0, result.Metrics["value"]);
            Assert.Equal(1, standIn.JobsCreated[handle.RunId + "-a2"]);
            var lost = store.TryLoad(handle.RunId)!.Attempts!.Single();
            Assert.Equal(RetryPolicy.OnLost, lost.RetriedOn);
            Assert.Empty(standIn.DuplicateSubmits);
        }
    }
}
