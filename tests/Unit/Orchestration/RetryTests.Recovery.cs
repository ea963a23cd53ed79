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

namespace RayRunner.Tests.Unit.Orchestration
{
    /// <summary>
    /// Retries across crashes and sessions: the next attempt is recorded before it is handed over,
    /// so a crash at any point neither restarts the sequence nor submits an attempt twice; other
    /// sessions and store readers see the attempts as recorded.
    /// </summary>
    public partial class RetryTests
    {
        /// <summary>The record of a run whose attempt 1 failed and whose attempt 2 was recorded, by a process now dead.</summary>
        static RunRecord SecondAttemptOfDeadProcess(string runId, bool claimed)
        {
            var queued = StoreRecords.Queued(runId, "fake", Entrypoint, owner: StoreRecords.DeadProcess,
                claim: claimed ? new DispatchClaim { By = StoreRecords.DeadProcess, At = DateTimeOffset.UtcNow } : null);
            var spec = queued.Spec;
            return new RunRecord
            {
                RunId = runId,
                Status = RunStatus.Queued,
                Spec = new RunSpecRecord
                {
                    ConfigHash = spec.ConfigHash, Config = spec.Config, Input = spec.Input, Entrypoint = spec.Entrypoint,
                    Options = spec.Options, Backend = spec.Backend, Address = spec.Address, CreatedAt = spec.CreatedAt,
                    Retry = RetryPolicy.Create(3, null),
                },
                Owner = queued.Owner,
                Claim = queued.Claim,
                Attempt = 2,
                Attempts = new[]
                {
                    new AttemptRecord
                    {
                        Attempt = 1, SubmissionId = runId, RetriedOn = RetryPolicy.OnFailed,
                        Submission = new SubmissionRecord { Backend = "fake", SubmittedAt = DateTimeOffset.UtcNow },
                        Result = Failed(runId, "boom"),
                    },
                },
                UpdatedAt = DateTimeOffset.UtcNow,
            };
        }

        [Fact]
        public async Task ACrashAfterTheRetryWasRecordedContinuesTheSequenceInTheNextSession()
        {
            var fake = new FakeRayBackend();
            var store = NewStore();
            store.Save(SecondAttemptOfDeadProcess("r1", claimed: false));
            using var runner = await NewRunner(fake, store);

            var adopted = await runner.ResumeQueuedAsync(cancellationToken: Within());
            Assert.Equal("r1", Assert.Single(adopted).RunId);
            Assert.Equal(RunStatus.Completed, (await runner.GetResultAsync("r1", Within())).Status);

            // Attempt 2 was handed over, once: not the run id again, not a third attempt.
            Assert.Equal(new[] { "r1-a2" }, fake.SubmissionIds);
            var record = store.TryLoad("r1")!;
            Assert.Equal(2, record.Attempt);
            Assert.Equal("boom", record.Attempts!.Single().Result.ErrorMessage);
        }

        [Fact]
        public async Task ACrashBetweenRecordingAnAttemptAndSubmittingItNeverMakesADuplicateJob()
        {
            var fake = new FakeRayBackend { AutoComplete = null };
            var store = NewStore();
            store.Save(SecondAttemptOfDeadProcess("r2", claimed: true));
            // The dead process got attempt 2 to the backend just before it died, without recording it.
            var before = StoreRecords.Queued("r2", "fake", Entrypoint);
            await fake.SubmitAsync(new TaskSpec(before.Spec.Input!, EntrypointTemplate.Parse(Entrypoint)).ForAttempt(2), new TaskOptions(), Within());
            using var runner = await NewRunner(fake, store);

            Assert.Single(await runner.ResumeQueuedAsync(cancellationToken: Within()));
            var record = await UntilRecorded(store, "r2", r => r.IsSubmitted);
            Assert.Equal(2, record.Attempt);
            fake.Complete("r2-a2", FakeRayBackend.CannedOutput("r2"));

            Assert.Equal(RunStatus.Completed, (await runner.GetResultAsync("r2", Within())).Status);
            Assert.Equal(new[] { "r2-a2" }, fake.SubmissionIds); // the one from before the crash, and no other
        }

        [Fact]
        public async Task AStatusLookFromAnotherRunnerRecordsTheRetryForAnySessionToResume()
        {
            var fake = new FakeRayBackend { AutoComplete = null };
            var store = NewStore();
            string runId;
            using (var first = await NewRunner(fake, store))
            {
                runId = (await first.SpawnExperimentAsync(Config(0), Retrying(1), Within())).RunId;
                await UntilRecorded(store, runId, r => r.IsSubmitted);
            } // disposed: the run goes on in the backend, recorded as submitted
            fake.Complete(runId, Failed(runId, "boom"));

            using var second = await NewRunner(fake, store);
            Assert.Equal(RunStatus.Queued, await second.GetStatusAsync(runId, Within()));
            var record = store.TryLoad(runId)!;
            Assert.True(record.IsOrphan);
            Assert.Equal(2, record.Attempt);

            Assert.Single(await second.ResumeQueuedAsync(cancellationToken: Within()));
            await UntilSubmitted(fake, runId + "-a2");
            fake.Complete(runId + "-a2", FakeRayBackend.CannedOutput(runId));
            Assert.Equal(RunStatus.Completed, (await second.GetResultAsync(runId, Within())).Status);
            Assert.Empty(fake.RepeatedSubmissions);
        }

        [Fact]
        public void ARecordWrittenBeforeRetriesReadsAsOneAttempt()
        {
            var store = NewStore();
            var folder = store.RunFolder("old1");
            Directory.CreateDirectory(folder);
            // A record as RayRunner wrote it before attempts existed: no attempt, no attempts, no retry.
            File.WriteAllText(Path.Combine(folder, "run.json"), """
                {
                  "format": 1,
                  "run_id": "old1",
                  "status": "failed",
                  "spec": { "config": { "lr": 0.1 }, "entrypoint": "python train.py", "backend": "local", "address": "local" },
                  "result": { "run_id": "old1", "status": "failed", "error_message": "boom" }
                }
                """);

            var record = store.TryLoad("old1")!;
            Assert.Equal(1, record.Attempt);
            Assert.Null(record.Attempts);
            Assert.Null(record.Spec.Retry);
            Assert.Equal("old1", record.SubmissionId);
            var snapshot = RunSnapshot.FromRecord(record);
            Assert.Equal(1, snapshot.Attempt);
            Assert.Empty(snapshot.PastAttempts);
        }

        [Fact]
        public void AReaderWithoutABackendDoesNotShowAnAttemptThatWillBeRetriedAsTheRunsEnd()
        {
            var store = NewStore();
            var queued = SecondAttemptOfDeadProcess("r3", claimed: false);
            var submitted = queued.With(status: RunStatus.Running, clearOwner: true,
                submission: new SubmissionRecord { Backend = "fake", SubmittedAt = DateTimeOffset.UtcNow });
            store.Save(submitted);
            var lastTry = submitted.With(attempt: 4, attempts: Array.Empty<AttemptRecord>());
            store.Save(new RunRecord { RunId = "r4", Status = lastTry.Status, Spec = lastTry.Spec, Submission = lastTry.Submission, Attempt = 4, UpdatedAt = DateTimeOffset.UtcNow });
            // As a local run's exit file would say: the attempt failed.
            var reader = new RunStoreReader(store, record => Failed(record.RunId, "boom"));

            Assert.Equal(RunStatus.Running, reader.GetStatus("r3")); // attempt 2 of 4: a retry is due, not an end
            Assert.Equal(RunStatus.Failed, reader.GetStatus("r4")); // attempt 4 of 4: the run's end
        }
    }
}
