using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using RayRunner.Core;
using RayRunner.Tests.Unit.Fakes;
using RayRunner.Tests.Unit.Local;
using Xunit;

namespace RayRunner.Tests.Unit.Store
{
    /// <summary>
    /// Listing every run (Get-RayRun) from one pass over the store: the readable records, with the
    /// index (a cache) never believed over a newer run.json, and the damaged runs, together.
    /// </summary>
    public class StoreListingTests : IDisposable
    {
        readonly TempFolder _temp = new TempFolder();
        public void Dispose() => _temp.Dispose();

        FileRunStore NewStore() => new FileRunStore(_temp.Sub("store"));

        static void WriteBehindTheIndex(FileRunStore store, RunRecord record)
        {
            // What a process that died between writing run.json and appending its index line leaves.
            var folder = store.RunFolder(record.RunId);
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, FileRunStore.RecordFileName),
                System.Text.Json.JsonSerializer.Serialize(record, RayRunnerJson.Indented));
        }

        static RunRecord Completed(RunRecord queued) => queued.With(
            status: RunStatus.Completed, clearOwner: true,
            submission: new SubmissionRecord { Backend = "fake", SubmittedAt = DateTimeOffset.UtcNow },
            result: StoreRecords.Completed(queued.RunId, 0.5));

        [Fact]
        public void One_pass_lists_fresh_stale_retried_and_damaged_runs_as_their_records_say()
        {
            var store = NewStore();
            store.Save(StoreRecords.Queued("good", "fake", "x"));
            var stale = StoreRecords.Queued("stale", "fake", "x");
            store.Save(stale);
            store.Save(StoreRecords.Queued("bad", "fake", "x"));
            var retried = StoreRecords.Queued("retried", "fake", "x");
            store.Save(retried);
            Assert.Equal(4, store.List().Count); // the index now holds all four

            // A record newer than its index line, a damaged record, and a retry's second attempt
            // written without its index line: the listing must follow the files, not the index.
            WriteBehindTheIndex(store, Completed(stale));
            File.WriteAllText(Path.Combine(store.RunFolder("bad"), FileRunStore.RecordFileName), "{\"run_id\": \"bad\", \"sta");
            var firstAttempt = new AttemptRecord
            {
                Attempt = 1, SubmissionId = "retried", RetriedOn = "failed",
                Result = new TaskOutput { RunId = "retried", Status = RunStatus.Failed, ErrorMessage = "boom" },
            };
            WriteBehindTheIndex(store, retried.With(status: RunStatus.Running, clearOwner: true, attempt: 2, attempts: new[] { firstAttempt },
                submission: new SubmissionRecord { Backend = "fake", SubmittedAt = DateTimeOffset.UtcNow }));

            var listing = NewStore().ListAll(); // a new session: nothing cached in memory

            Assert.Equal(new[] { "good", "retried", "stale" }, listing.Records.Select(r => r.RunId).OrderBy(x => x, StringComparer.Ordinal));
            Assert.Equal(RunStatus.Queued, listing.Records.Single(r => r.RunId == "good").Status);
            Assert.Equal(RunStatus.Completed, listing.Records.Single(r => r.RunId == "stale").Status);
            var second = listing.Records.Single(r => r.RunId == "retried");
            Assert.Equal(2, second.Attempt);
            Assert.Equal("boom", Assert.Single(second.Attempts!).Result.ErrorMessage);
            Assert.Equal("bad", Assert.Single(listing.Damaged).RunId);
        }

        [Fact]
        public void Listing_with_the_index_missing_reads_every_record()
        {
            var store = NewStore();
            store.Save(Completed(StoreRecords.Queued("a", "fake", "x")));
            store.Save(StoreRecords.Queued("b", "fake", "x"));
            File.Delete(Path.Combine(store.Root, "index.jsonl"));

            var listing = FileRunStore.OpenForReading(store.Root).ListAll(); // a read-only home rewrites nothing

            Assert.Equal(new[] { RunStatus.Completed, RunStatus.Queued }, listing.Records.OrderBy(r => r.RunId).Select(r => r.Status));
            Assert.Empty(listing.Damaged);
            Assert.False(File.Exists(Path.Combine(store.Root, "index.jsonl")), "a reader must not write the index");
        }

        [Fact]
        public void A_reader_lists_every_run_from_one_pass_over_the_store()
        {
            var inner = NewStore();
            inner.Save(StoreRecords.Queued("good", "fake", "x"));
            inner.Save(StoreRecords.Queued("bad", "fake", "x"));
            File.WriteAllText(Path.Combine(inner.RunFolder("bad"), FileRunStore.RecordFileName), "garbage");
            var counting = new CountingStore(inner);

            var runs = new RunStoreReader(counting).ListRuns();

            Assert.Equal(new[] { RunStatus.Damaged, RunStatus.Queued }, runs.OrderBy(r => r.RunId).Select(r => r.Status));
            Assert.Equal(1, counting.Passes);
        }

        sealed class CountingStore : DelegatingRunStore
        {
            public CountingStore(IRunStore inner) : base(inner) { }
            public int Passes;
            public override IReadOnlyList<RunRecord> List() { Passes++; return Inner.List(); }
            public override IReadOnlyList<StoreProblem> ListDamaged() { Passes++; return Inner.ListDamaged(); }
            public override StoreListing ListAll() { Passes++; return Inner.ListAll(); }
        }
    }
}
