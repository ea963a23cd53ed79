using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Tests.Unit.Fakes;
using RayRunner.Tests.Unit.Store;
using Xunit;
using CoreRunner = RayRunner.Core.ExperimentRunner;

namespace RayRunner.Tests.Unit.Orchestration
{
    /// <summary>
    /// Retries are attempts of one run: each its own submission (<c>&lt;runid&gt;-aN</c>), recorded
    /// before it is handed over, every attempt's end kept, the run's result its last attempt's.
    /// </summary>
    public partial class RetryTests : IDisposable
    {
        const string Entrypoint = "python train.py {overrides}";
        static readonly TimeSpan Bound = TimeSpan.FromSeconds(60); // generous: the machine is shared and slow

        readonly TempFolder _temp = new TempFolder();
        public void Dispose() => _temp.Dispose();

        FileRunStore NewStore() => new FileRunStore(_temp.Sub("store"), LogRetention.Unlimited);

        static Task<CoreRunner> NewRunner(IRayBackend backend, IRunStore store, int maxConcurrent = 4) =>
            CoreRunner.CreateAsync(backend, new RayRunnerOptions { MaxConcurrent = maxConcurrent, Store = store, Entrypoint = Entrypoint });

        static CancellationToken Within() => new CancellationTokenSource(Bound).Token;

        static Dictionary<string, object?> Config(int i) => new Dictionary<string, object?> { ["lr"] = 0.01 * (i + 1), ["seed"] = (long)i };

        static RunRequest Retrying(int maxRetries, params string[] on) => new RunRequest
        {
            Retry = RetryPolicy.Create(maxRetries, on.Length == 0 ? null : on),
        };

        static TaskOutput Failed(string runId, string why) => TaskOutput.Failure(runId, RunStatus.Failed, why);

        [Fact]
        public async Task ARetryTheBackendRefusesKeepsWhyTheAttemptBeforeItEnded()
        {
            // A lost head fails attempt 1, then refuses the retry: the run's error must still say the
            // head was lost, not only "could not reach" (new-user trial).
            var fake = new FakeRayBackend();
            fake.AutoComplete = spec =>
            {
                fake.SubmitThrows = new IOException("Could not reach the Ray head at 127.0.0.1:8265.");
                return Failed(spec.RunId, "The Ray head is lost: it has not answered for 300 s.");
            };
            using var runner = await NewRunner(fake, NewStore());

            var run = await runner.SpawnExperimentAsync(Config(0), Retrying(1), Within());
            await runner.WaitAsync(new[] { run.RunId }, cancellationToken: Within());

            var result = await runner.GetResultAsync(run.RunId, Within());
            Assert.Equal(RunStatus.Failed, result.Status);
            Assert.Contains("did not accept attempt 2 of the run: Could not reach the Ray head", result.ErrorMessage);
            Assert.Contains("Attempt 1 had ended failed: The Ray head is lost", result.ErrorMessage);
        }

        /// <summary>Waits, bounded, until the fake has been handed <paramref name="submissionId"/>.</summary>
        static async Task UntilSubmitted(FakeRayBackend fake, string submissionId)
        {
            var until = DateTime.UtcNow + Bound;
            while (!fake.SubmissionIds.Contains(submissionId))
            {
                if (DateTime.UtcNow > until) throw new TimeoutException($"'{submissionId}' was never submitted; submitted: {string.Join(", ", fake.SubmissionIds)}");
                await Task.Delay(10);
            }
        }

        [Fact]
        public async Task ASweepWhoseRunsFailOnceCompletesEveryRunWithTheFailedAttemptsKept()
        {
            // Runs 2, 5 and 8 fail on their first attempt only, as a flaky node would make them.
            var failingFirst = new HashSet<long> { 2, 5, 8 };
            var fake = new FakeRayBackend
            {
                AutoComplete = spec => spec.Attempt == 1 && failingFirst.Contains((long)spec.Input.Config["seed"]!)
                    ? Failed(spec.RunId, "CUDA error: an illegal memory access")
                    : FakeRayBackend.CannedOutput(spec.RunId),
            };
            var store = NewStore();
            using var runner = await NewRunner(fake, store);

            var handles = await runner.SpawnSweepAsync(Enumerable.Range(0, 10).Select(i => (object)Config(i)), Retrying(2), Within());
            var ids = handles.Select(h => h.RunId).ToList();
            await runner.WaitAsync(ids, cancellationToken: Within());

            var failing = ids.Where((_, i) => failingFirst.Contains(i)).ToList();
            foreach (var id in ids)
            {
                var result = await runner.GetResultAsync(id, Within());
                Assert.Equal(RunStatus.Completed, result.Status);
                var record = store.TryLoad(id)!;
                Assert.Equal(RunStatus.Completed, record.Status);
                if (failing.Contains(id))
                {
                    Assert.Equal(2, record.Attempt);
                    var first = Assert.Single(record.Attempts!);
                    Assert.Equal(1, first.Attempt);
                    Assert.Equal(id, first.SubmissionId);
                    Assert.Equal(RetryPolicy.OnFailed, first.RetriedOn);
                    Assert.Equal(RunStatus.Failed, first.Result.Status);
                    Assert.Contains("illegal memory access", first.Result.ErrorMessage);
                    Assert.NotNull(first.Submission); // its log stays reachable through its own locator
                    Assert.Equal(id + "-a2", record.Submission!.Locator!["fake_id"].Substring("obj-".Length));
                }
                else
                {
                    Assert.Equal(1, record.Attempt);
                    Assert.Null(record.Attempts);
                }
            }
            // Each attempt handed over once, with its own id; runs that passed at once are untouched.
            Assert.Empty(fake.RepeatedSubmissions);
            var expected = ids.Concat(failing.Select(id => id + "-a2")).OrderBy(x => x, StringComparer.Ordinal);
            Assert.Equal(expected, fake.SubmissionIds.OrderBy(x => x, StringComparer.Ordinal));
            // The experiment still sees its run id; only a retry is told its attempt.
            Assert.All(fake.Submissions, s => Assert.Equal(s.Spec.Attempt > 1 ? s.Spec.Attempt.ToString() : null,
                s.Spec.ContractEnvironment().TryGetValue(TaskSpec.EnvAttempt, out var a) ? a : null));
            Assert.All(fake.Submissions, s => Assert.Contains(s.Spec.RunId, ids));

            var notices = runner.TakeNotices();
            Assert.Equal(3, notices.Count);
            Assert.All(notices, n => Assert.Matches("attempt 1 ended failed: CUDA error.*retrying as attempt 2 of 3", n));

            // The read view shows the attempts too.
            var snapshot = runner.GetRun(failing[0])!;
            Assert.Equal(2, snapshot.Attempt);
            Assert.Single(snapshot.PastAttempts);
            Assert.Equal(2, snapshot.Retry!.MaxRetries);
        }

        [Fact]
        public async Task RetriesStopAfterMaxRetriesAndTheRunEndsAsItsLastAttempt()
        {
            var fake = new FakeRayBackend { AutoComplete = spec => Failed(spec.RunId, $"boom on attempt {spec.Attempt}") };
            var store = NewStore();
            using var runner = await NewRunner(fake, store);

            var handle = await runner.SpawnExperimentAsync(Config(0), Retrying(2), Within());
            var result = await runner.GetResultAsync(handle.RunId, Within());

            Assert.Equal(RunStatus.Failed, result.Status);
            Assert.Contains("boom on attempt 3", result.ErrorMessage);
            Assert.Equal(new[] { handle.RunId, handle.RunId + "-a2", handle.RunId + "-a3" }, fake.SubmissionIds);
            var record = store.TryLoad(handle.RunId)!;
            Assert.Equal(3, record.Attempt);
            Assert.Equal(new[] { 1, 2 }, record.Attempts!.Select(a => a.Attempt));
            Assert.Equal(new[] { "boom on attempt 1", "boom on attempt 2" }, record.Attempts!.Select(a => a.Result.ErrorMessage));
        }

        [Fact]
        public async Task WithoutRetriesARunIsTriedOnceAndItsRecordHasNoAttempts()
        {
            var fake = new FakeRayBackend { AutoComplete = spec => Failed(spec.RunId, "boom") };
            var store = NewStore();
            using var runner = await NewRunner(fake, store);

            var handle = await runner.SpawnExperimentAsync(Config(0), new RunRequest { Retry = RetryPolicy.Create(0, null) }, Within());
            var result = await runner.GetResultAsync(handle.RunId, Within());

            Assert.Equal(RunStatus.Failed, result.Status);
            Assert.Equal(new[] { handle.RunId }, fake.SubmissionIds);
            var json = File.ReadAllText(Path.Combine(store.RunFolder(handle.RunId), "run.json"));
            Assert.DoesNotContain("attempts", json); // a run without retries is recorded as before
            Assert.Null(store.TryLoad(handle.RunId)!.Spec.Retry);
        }

        [Fact]
        public async Task AnEndNotNamedInRetryOnIsNotRetried()
        {
            var fake = new FakeRayBackend { AutoComplete = spec => Failed(spec.RunId, "boom") };
            using var runner = await NewRunner(fake, NewStore());

            var handle = await runner.SpawnExperimentAsync(Config(0), Retrying(3, RetryPolicy.OnTimeout, RetryPolicy.OnLost), Within());
            var result = await runner.GetResultAsync(handle.RunId, Within());

            Assert.Equal(RunStatus.Failed, result.Status);
            Assert.Equal(new[] { handle.RunId }, fake.SubmissionIds);
        }

        [Fact]
        public async Task ALostJobIsRetriedWhenLostIsNamedAndEndsTheRunOtherwise()
        {
            var fake = new FakeRayBackend { AutoComplete = null };
            var store = NewStore();
            using var runner = await NewRunner(fake, store);

            var retried = await runner.SpawnExperimentAsync(Config(0), Retrying(1, RetryPolicy.OnLost), Within());
            var notRetried = await runner.SpawnExperimentAsync(Config(1), Retrying(1, RetryPolicy.OnFailed), Within());
            await UntilSubmitted(fake, retried.RunId);
            await UntilSubmitted(fake, notRetried.RunId);

            fake.Lose(retried.RunId);
            fake.Lose(notRetried.RunId);
            await UntilSubmitted(fake, retried.RunId + "-a2");
            fake.Complete(retried.RunId + "-a2", FakeRayBackend.CannedOutput(retried.RunId));

            Assert.Equal(RunStatus.Completed, (await runner.GetResultAsync(retried.RunId, Within())).Status);
            var lost = store.TryLoad(retried.RunId)!.Attempts!.Single();
            Assert.Equal(RetryPolicy.OnLost, lost.RetriedOn);
            Assert.Contains("has no job", lost.Result.ErrorMessage);

            var failed = await runner.GetResultAsync(notRetried.RunId, Within());
            Assert.Equal(RunStatus.Failed, failed.Status);
            Assert.DoesNotContain(notRetried.RunId + "-a2", fake.SubmissionIds);
        }

        [Fact]
        public async Task EachAttemptHasItsOwnTimeout()
        {
            // Attempt 1 hangs (never completes); attempt 2 finishes at once.
            var fake = new FakeRayBackend { AutoComplete = spec => spec.Attempt == 1 ? null! : FakeRayBackend.CannedOutput(spec.RunId) };
            var store = NewStore();
            using var runner = await NewRunner(fake, store);

            var request = new RunRequest { TimeoutSeconds = 1, Retry = RetryPolicy.Create(1, new[] { RetryPolicy.OnTimeout }) };
            var handle = await runner.SpawnExperimentAsync(Config(0), request, Within());
            var result = await runner.GetResultAsync(handle.RunId, Within());

            Assert.Equal(RunStatus.Completed, result.Status);
            var first = store.TryLoad(handle.RunId)!.Attempts!.Single();
            Assert.Equal(RunStatus.Timeout, first.Result.Status);
            Assert.Equal(RetryPolicy.OnTimeout, first.RetriedOn);
            Assert.Contains(fake.CancelCalls, c => c.RunId == handle.RunId); // the timed-out attempt was stopped
        }

        [Fact]
        public async Task ATimedOutAttemptThatCouldNotBeStoppedIsNotRetried()
        {
            // Stopping fails: the attempt may still run, so a second one beside it would be a duplicate.
            var fake = new FakeRayBackend { AutoComplete = null, CancelThrows = new InvalidOperationException("the head refused the stop") };
            var store = NewStore();
            using var runner = await NewRunner(fake, store);

            var request = new RunRequest { TimeoutSeconds = 1, Retry = RetryPolicy.Create(2, null) };
            var handle = await runner.SpawnExperimentAsync(Config(0), request, Within());
            var result = await runner.GetResultAsync(handle.RunId, Within());

            Assert.Equal(RunStatus.Timeout, result.Status);
            Assert.Contains("stopping it failed", result.ErrorMessage);
            Assert.Equal(new[] { handle.RunId }, fake.SubmissionIds);
        }

        [Fact]
        public async Task ARunnerWithoutAStoreRetriesToo()
        {
            var fake = new FakeRayBackend { AutoComplete = spec => spec.Attempt < 3 ? Failed(spec.RunId, "boom") : FakeRayBackend.CannedOutput(spec.RunId) };
            using var runner = await CoreRunner.CreateAsync(fake, new RayRunnerOptions { Entrypoint = Entrypoint });

            var handle = await runner.SpawnExperimentAsync(Config(0), Retrying(2), Within());

            Assert.Equal(RunStatus.Completed, (await runner.GetResultAsync(handle.RunId, Within())).Status);
            Assert.Equal(new[] { handle.RunId, handle.RunId + "-a2", handle.RunId + "-a3" }, fake.SubmissionIds);
            Assert.Equal(2, runner.GetRun(handle.RunId)!.PastAttempts.Count);
        }

        [Fact]
        public async Task CancellingARunStopsItsRetries()
        {
            var fake = new FakeRayBackend { AutoComplete = null };
            var store = NewStore();
            using var runner = await NewRunner(fake, store);

            var handle = await runner.SpawnExperimentAsync(Config(0), Retrying(5), Within());
            await UntilSubmitted(fake, handle.RunId);
            fake.Complete(handle.RunId, Failed(handle.RunId, "boom"));
            await UntilSubmitted(fake, handle.RunId + "-a2");

            Assert.True(await runner.CancelAsync(handle.RunId, Within()));
            var result = await runner.GetResultAsync(handle.RunId, Within());

            Assert.Equal(RunStatus.Cancelled, result.Status);
            Assert.Equal(RunStatus.Cancelled, store.TryLoad(handle.RunId)!.Status);
            Assert.Equal(new[] { handle.RunId, handle.RunId + "-a2" }, fake.SubmissionIds);
        }

        [Theory]
        [InlineData(-1, null, "MaxRetries must be from 0")]
        [InlineData(101, null, "MaxRetries must be from 0")]
        [InlineData(1, "failed,oom", "'oom', which is not a reason to retry")]
        [InlineData(1, "", "RetryOn is empty")]
        public void ABadPolicyIsRefusedWithWhatToDo(int maxRetries, string? on, string expected)
        {
            var reasons = on?.Split(',', StringSplitOptions.RemoveEmptyEntries);
            var ex = Assert.ThrowsAny<ArgumentException>(() => RetryPolicy.Create(maxRetries, reasons));
            Assert.Contains(expected, ex.Message);
        }

        [Fact]
        public void AttemptIdsAreDerivedFromTheRunIdAndTheFirstKeepsIt()
        {
            Assert.Equal("3f2a9c1e", RunIds.ForAttempt("3f2a9c1e", 1));
            Assert.Equal("3f2a9c1e-a2", RunIds.ForAttempt("3f2a9c1e", 2));
            Assert.True(RunIds.TryParseAttempt("base-line-a12", out var run, out var n));
            Assert.Equal(("base-line", 12), (run, n));
            Assert.False(RunIds.TryParseAttempt("3f2a9c1e", out _, out _));
            Assert.False(RunIds.TryParseAttempt("x-a1", out _, out _));
        }

        [Fact]
        public async Task AUserRunIdThatLooksLikeAnAttemptIsRefused()
        {
            using var runner = await NewRunner(new FakeRayBackend(), NewStore());
            var ex = await Assert.ThrowsAsync<ArgumentException>(() =>
                runner.SpawnExperimentAsync(Config(0), new RunRequest { RunId = "baseline-a2" }, Within()));
            Assert.Contains("retry's attempt", ex.Message);

            var longId = new string('x', 62);
            var tooLong = await Assert.ThrowsAsync<ArgumentException>(() =>
                runner.SpawnExperimentAsync(Config(0), new RunRequest { RunId = longId, Retry = RetryPolicy.Create(1, null) }, Within()));
            Assert.Contains("too long for 1 retries", tooLong.Message);
            Assert.Null(runner.GetRun(longId)); // refused before anything was recorded
        }

        static async Task<RunRecord> UntilRecorded(IRunStore store, string runId, Func<RunRecord, bool> condition)
        {
            var until = DateTime.UtcNow + Bound;
            while (true)
            {
                var record = store.TryLoad(runId);
                if (record != null && condition(record)) return record;
                if (DateTime.UtcNow > until) throw new TimeoutException($"Run {runId} never reached the awaited state; last status {record?.Status}.");
                await Task.Delay(10);
            }
        }
    }
}
