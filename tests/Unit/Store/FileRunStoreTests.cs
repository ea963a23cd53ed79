using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Tests.Unit.Local;
using Xunit;

namespace RayRunner.Tests.Unit.Store
{
    public class FileRunStoreTests : IDisposable
    {
        readonly TempFolder _temp = new TempFolder();
        public void Dispose() => _temp.Dispose();

        FileRunStore NewStore(LogRetention? retention = null) => new FileRunStore(_temp.Sub("store"), retention);

        static RunRecord Final(RunRecord queued, double loss) => queued.With(
            status: RunStatus.Completed, clearOwner: true,
            submission: new SubmissionRecord { Backend = "fake", Locator = new Dictionary<string, string> { ["submission_id"] = queued.RunId }, SubmittedAt = DateTimeOffset.UtcNow },
            result: StoreRecords.Completed(queued.RunId, loss));

        [Fact]
        public void RecordRoundTripsAsReadableIndentedJson()
        {
            var store = NewStore();
            var config = new Dictionary<string, object?> { ["lr"] = 0.5, ["model"] = new Dictionary<string, object?> { ["layers"] = 3L }, ["tags"] = new List<object?> { "a", "b" } };
            var record = Final(StoreRecords.Queued("run1", "fake", "python train.py {overrides}", "sweepA", config), 0.25);

            store.Save(record);
            var loaded = store.TryLoad("run1");

            Assert.NotNull(loaded);
            Assert.Equal("sweepA", loaded!.SweepId);
            Assert.Equal(record.Spec.ConfigHash, loaded.Spec.ConfigHash);
            Assert.Equal(ConfigHash.Compute(config), ConfigHash.Compute(loaded.Spec.Config));
            Assert.Equal("python train.py {overrides}", loaded.Spec.Entrypoint);
            Assert.Equal("run1", loaded.Submission!.Locator!["submission_id"]);
            Assert.Equal(0.25, loaded.Result!.Metrics["loss"]);
            Assert.Equal(600, loaded.Spec.Input!.TimeoutSeconds);
            var text = File.ReadAllText(Path.Combine(store.RunFolder("run1"), FileRunStore.RecordFileName));
            Assert.Contains("\n  \"run_id\": \"run1\"", text); // indented, snake_case: readable by a human
            Assert.Contains("\"config_hash\"", text);
        }

        [UnixFact] // a read-only folder is a Unix mode here
        [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
        public void A_store_opened_for_reading_lists_runs_and_changes_nothing()
        {
            // A read-only RAYRUNNER_HOME (issue 11, item 8): listing must not chmod, lock, or rewrite.
            var store = NewStore();
            store.Save(StoreRecords.Queued("run1", "fake", "x"));
            File.Delete(Path.Combine(store.Root, "index.jsonl"));
            File.Delete(Path.Combine(store.Root, "store.lock"));
            File.SetUnixFileMode(store.Root, (UnixFileMode)0x16D); // 0555: as a read-only home is
            var before = Directory.GetFileSystemEntries(store.Root);

            var reader = FileRunStore.OpenForReading(store.Root);
            Assert.Equal("run1", Assert.Single(reader.List()).RunId);
            Assert.NotNull(reader.TryLoad("run1"));
            Assert.Equal(RunStatus.Queued, new RunStoreReader(reader).GetStatus("run1"));

            Assert.Equal(before, Directory.GetFileSystemEntries(store.Root));
            Assert.Equal(0x16D, (int)File.GetUnixFileMode(store.Root));
            var ex = Assert.Throws<InvalidOperationException>(() => reader.Save(StoreRecords.Queued("run2", "fake", "x")));
            Assert.Contains("reading only", ex.Message);
            Assert.Throws<InvalidOperationException>(() => reader.Delete("run1"));
            File.SetUnixFileMode(store.Root, (UnixFileMode)0x1C0);
        }

        [UnixFact] // Unix permissions only; Windows files inherit the profile's ACL
        [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
        public void FilesAndFoldersAreReadableByTheUserAlone()
        {
            var store = NewStore();
            store.Save(StoreRecords.Queued("run1", "fake", "x"));
            var log = store.LogPathFor("run1");
            File.WriteAllText(log, "hello");

            Assert.Equal(0x1C0, (int)File.GetUnixFileMode(store.Root));
            Assert.Equal(0x1C0, (int)File.GetUnixFileMode(store.RunsFolder));
            Assert.Equal(0x1C0, (int)File.GetUnixFileMode(store.RunFolder("run1")));
            Assert.Equal(0x180, (int)File.GetUnixFileMode(Path.Combine(store.RunFolder("run1"), FileRunStore.RecordFileName)));
            Assert.Equal(0x180, (int)File.GetUnixFileMode(Path.Combine(store.Root, "index.jsonl")));
        }

        [Theory]
        [InlineData("../escape")]
        [InlineData("a/b")]
        [InlineData("..")]
        [InlineData("")]
        [InlineData(".hidden")]
        public void RunIdsThatCouldLeaveTheStoreAreRefused(string runId)
        {
            var store = NewStore();
            var ex = Assert.Throws<ArgumentException>(() => store.Save(StoreRecords.Queued(runId, "fake", "x")));
            Assert.Contains("not a valid run id", ex.Message);
            Assert.Throws<ArgumentException>(() => store.LogPathFor(runId));
            Assert.Null(store.TryLoad(runId));
            Assert.Empty(Directory.EnumerateFileSystemEntries(store.RunsFolder));
        }

        [Fact]
        public void RecordedResultIsNeverOverwritten()
        {
            var store = NewStore();
            var queued = StoreRecords.Queued("run1", "fake", "x");
            store.Save(Final(queued, 0.1));

            var returned = store.Save(queued.With(status: RunStatus.Running));
            var second = store.Save(Final(queued, 0.9));

            Assert.Equal(RunStatus.Completed, returned.Status);
            Assert.Equal(0.1, second.Result!.Metrics["loss"]);
            Assert.Equal(0.1, store.TryLoad("run1")!.Result!.Metrics["loss"]);
        }

        [Theory]
        [InlineData("this is not json")]
        [InlineData("{\"run_id\": \"bad\", \"status\": \"comp")] // truncated mid-write by something other than RayRunner
        [InlineData("")]
        [InlineData("{\"run_id\": \"someone-else\"}")]
        public void DamagedRecordIsReportedAndSkippedNeverThrown(string garbage)
        {
            var store = NewStore();
            store.Save(StoreRecords.Queued("good1", "fake", "x"));
            store.Save(StoreRecords.Queued("bad", "fake", "x"));
            store.Save(StoreRecords.Queued("good2", "fake", "x"));
            var badPath = Path.Combine(store.RunFolder("bad"), FileRunStore.RecordFileName);
            File.WriteAllText(badPath, garbage);

            var fresh = NewStore(); // another session: nothing cached
            var listed = fresh.List().Select(r => r.RunId).ToList();

            Assert.Equal(new[] { "good1", "good2" }, listed.OrderBy(x => x));
            Assert.Null(fresh.TryLoad("bad"));
            var problem = Assert.Single(fresh.Problems);
            Assert.Equal(badPath, problem.Path);
            Assert.Equal("bad", problem.RunId);

            // Skipped by List, but not lost from sight: ListDamaged and DamageOf name it, and it can be deleted.
            Assert.Equal("bad", Assert.Single(fresh.ListDamaged()).RunId);
            Assert.Equal(badPath, fresh.DamageOf("bad")!.Path);
            Assert.Null(fresh.DamageOf("good1"));
            Assert.Null(fresh.DamageOf("nosuch"));
            Assert.True(fresh.Delete("bad"));
            Assert.Empty(NewStore().ListDamaged());
            Assert.Null(NewStore().DamageOf("bad"));
            Assert.Equal(new[] { "good1", "good2" }, NewStore().List().Select(r => r.RunId).OrderBy(x => x));
        }

        [Fact]
        public void MissingOrGarbageIndexIsRebuiltFromTheFolders()
        {
            var store = NewStore();
            for (var i = 0; i < 5; i++) store.Save(StoreRecords.Queued("run" + i, "fake", "x"));
            var index = Path.Combine(store.Root, "index.jsonl");

            File.Delete(index);
            Assert.Equal(5, NewStore().List().Count);
            Assert.True(File.Exists(index), "listing rebuilds a missing index");
            AssertIndexOfSummaries(index, 5);

            File.WriteAllText(index, "garbage\n{\"stamp\": 1}\n\u0000\u0001");
            Assert.Equal(5, NewStore().List().Count);
            AssertIndexOfSummaries(index, 5);
            Assert.Empty(NewStore().Problems);
        }

        /// <summary>A format-2 index: the header, then one summary line per run (no whole records).</summary>
        static void AssertIndexOfSummaries(string index, int runs)
        {
            var lines = File.ReadAllLines(index);
            Assert.StartsWith("{\"format\":2,\"generation\":", lines[0]);
            Assert.Equal(runs, lines.Skip(1).Count(l => l.Contains("\"run_id\":") && l.Contains("\"stamp\":")));
            Assert.DoesNotContain(lines, l => l.Contains("\"record\":") || l.Contains("\"config\":"));
        }

        [Fact]
        public void IndexBehindTheFoldersIsCorrected()
        {
            // A crash between writing a record and appending its index line leaves the index behind.
            var store = NewStore();
            var queued = StoreRecords.Queued("run1", "fake", "x");
            store.Save(queued);
            store.List();
            var final = Final(queued, 0.3);
            var path = Path.Combine(store.RunFolder("run1"), FileRunStore.RecordFileName);
            File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(final, RayRunnerJson.Indented));
            Directory.CreateDirectory(store.RunFolder("run2"));
            File.WriteAllText(Path.Combine(store.RunFolder("run2"), FileRunStore.RecordFileName),
                System.Text.Json.JsonSerializer.Serialize(StoreRecords.Queued("run2", "fake", "x"), RayRunnerJson.Indented));

            var listed = NewStore().List();

            Assert.Equal(RunStatus.Completed, listed.Single(r => r.RunId == "run1").Status);
            Assert.Contains(listed, r => r.RunId == "run2");
        }

        [Fact]
        public void ListingSeesWhatAnotherStoreObjectWroteMeanwhile()
        {
            // Each FileRunStore reads the index incrementally; another process's appends and
            // rewrites must still show in its next listing.
            var mine = NewStore();
            var other = NewStore();
            var queued = StoreRecords.Queued("run1", "fake", "x");
            mine.Save(queued);
            Assert.Single(mine.List());

            other.Save(StoreRecords.Queued("run2", "fake", "x"));
            other.Save(Final(queued, 0.2));
            Assert.Equal(RunStatus.Completed, mine.List().Single(r => r.RunId == "run1").Status);
            Assert.Equal(2, mine.List().Count);

            File.Delete(Path.Combine(other.Root, "index.jsonl"));
            other.List(); // rewrites the index under a new generation
            other.Save(StoreRecords.Queued("run3", "fake", "x"));
            Assert.Equal(new[] { "run1", "run2", "run3" }, mine.List().Select(r => r.RunId).OrderBy(x => x));
        }

        [Fact]
        public void DeleteRemovesTheRunsFolderAndItsIndexEntry()
        {
            var store = NewStore();
            store.Save(StoreRecords.Queued("run1", "fake", "x"));
            store.Save(StoreRecords.Queued("run2", "fake", "x"));
            File.WriteAllText(store.LogPathFor("run1"), "output");

            Assert.True(store.Delete("run1"));
            Assert.False(store.Delete("run1"));

            Assert.False(Directory.Exists(store.RunFolder("run1")));
            Assert.Equal(new[] { "run2" }, NewStore().List().Select(r => r.RunId));
            Assert.DoesNotContain(Directory.GetDirectories(store.RunsFolder), d => Path.GetFileName(d).StartsWith("."));
        }

        [Fact]
        public void LeftoversOfAnInterruptedWriteAreIgnoredAndCleaned()
        {
            var store = NewStore();
            store.Save(StoreRecords.Queued("run1", "fake", "x"));
            var leftover = Path.Combine(store.RunFolder("run1"), ".run.json.dead0001.tmp");
            File.WriteAllText(leftover, "{ half a rec");
            Directory.CreateDirectory(store.RunFolder("run9")); // died before its first record was complete

            Assert.Equal(new[] { "run1" }, NewStore().List().Select(r => r.RunId));
            store.Save(StoreRecords.Queued("run1", "fake", "x").With(status: RunStatus.Queued));
            Assert.False(File.Exists(leftover));
        }

        [Fact]
        public void FinishedRunsLogIsCappedToItsTail()
        {
            var store = NewStore(new LogRetention { MaxBytesPerRun = 4096, MaxTotalBytes = 1 << 20 });
            var queued = StoreRecords.Queued("run1", "fake", "x");
            store.Save(queued);
            var log = store.LogPathFor("run1");
            var lines = Enumerable.Range(0, 2000).Select(i => $"line {i:D5}").ToList();
            File.WriteAllLines(log, lines);
            var before = new FileInfo(log).Length;

            store.Save(queued.With(status: RunStatus.Running));
            Assert.Equal(before, new FileInfo(log).Length); // unfinished: the backend is still writing it

            store.Save(Final(queued, 0.1));
            var kept = File.ReadAllText(log);
            Assert.True(kept.Length <= 4096 + 200, $"kept {kept.Length} bytes");
            Assert.StartsWith("[RayRunner: ", kept);
            Assert.EndsWith("line 01999\n", kept);
            Assert.DoesNotContain("line 00000", kept);
        }

        [Fact]
        public void A_retried_runs_attempt_logs_share_its_cap_the_last_attempt_kept_first()
        {
            var store = NewStore(new LogRetention { MaxBytesPerRun = 10_000, MaxTotalBytes = 1 << 20 });
            var queued = StoreRecords.Queued("run1", "fake", "x");
            store.Save(queued);
            File.WriteAllText(store.LogPathFor("run1"), new string('1', 8_000));
            var second = store.LogPathFor("run1-a2");
            var third = store.LogPathFor("run1-a3");
            Assert.Equal(Path.GetDirectoryName(store.LogPathFor("run1")), Path.GetDirectoryName(third)); // output.aN.log beside output.log
            File.WriteAllText(second, new string('2', 8_000));
            File.WriteAllText(third, new string('3', 6_000) + "the end\n");

            store.Save(Final(queued, 0.1));

            var logs = new[] { store.LogPathFor("run1"), second, third };
            var total = logs.Sum(l => new FileInfo(l).Length);
            Assert.True(total <= 10_000 + 3 * 200, $"the run's logs together keep {total} bytes"); // the cap is the run's, notes aside
            Assert.EndsWith("the end\n", File.ReadAllText(third)); // the last attempt, where the run's result is, is whole
            Assert.Equal(6_008, new FileInfo(third).Length);
            Assert.StartsWith("[RayRunner: ", File.ReadAllText(second)); // older attempts are cut to their tails
            Assert.True(new FileInfo(store.LogPathFor("run1")).Length < 200, "the first attempt's log gets what is left: nothing");
        }

        [Fact]
        public void The_store_total_counts_attempt_logs_and_empties_them_with_their_run()
        {
            var store = NewStore(new LogRetention { MaxBytesPerRun = 20_000, MaxTotalBytes = 25_000 });
            foreach (var id in new[] { "old", "new" })
            {
                var queued = StoreRecords.Queued(id, "fake", "x");
                store.Save(queued);
                File.WriteAllText(store.LogPathFor(id), new string('x', 4_000));
                File.WriteAllText(store.LogPathFor(id + "-a2"), new string('y', 9_000));
                store.Save(Final(queued, 0.1)); // finishes in this order: old, new
            }

            // 26,000 bytes in all, 8,000 of them in first attempts' logs: only counting the retries' logs passes the cap.
            var total = store.EnforceLogLimits();

            Assert.True(total <= 25_000, $"total {total}");
            Assert.True(new FileInfo(store.LogPathFor("old")).Length < 200, "the oldest run's logs go first, its first attempt's before its last");
            Assert.Equal(9_000, new FileInfo(store.LogPathFor("old-a2")).Length);
            Assert.Equal(4_000, new FileInfo(store.LogPathFor("new")).Length);
            Assert.Equal(9_000, new FileInfo(store.LogPathFor("new-a2")).Length);
        }

        [Fact]
        public void TotalLogSizeIsBoundedByEmptyingOldestFinishedRunsFirst()
        {
            var store = NewStore(new LogRetention { MaxBytesPerRun = 10_000, MaxTotalBytes = 25_000 });
            var payload = new string('x', 9_000);
            var running = StoreRecords.Queued("running", "fake", "x");
            store.Save(running);
            File.WriteAllText(store.LogPathFor("running"), payload);
            foreach (var id in new[] { "old", "mid", "new" })
            {
                var queued = StoreRecords.Queued(id, "fake", "x");
                store.Save(queued);
                File.WriteAllText(store.LogPathFor(id), payload);
                store.Save(Final(queued, 0.1)); // finishes in this order: old, mid, new
            }

            var total = store.EnforceLogLimits();

            Assert.True(total <= 25_000, $"total {total}");
            Assert.True(new FileInfo(store.LogPathFor("old")).Length < 1000, "the oldest finished run's log goes first");
            Assert.Equal(9_000, new FileInfo(store.LogPathFor("new")).Length);
            Assert.Equal(9_000, new FileInfo(store.LogPathFor("running")).Length); // never an unfinished run's log
            Assert.NotNull(store.TryLoad("old")!.Result); // the record itself is never trimmed
        }

        [Fact]
        public async Task ConcurrentWritersFromManyThreadsAndTwoStoreObjectsKeepEveryRecord()
        {
            var a = NewStore();
            var b = NewStore();
            await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() =>
            {
                var store = i % 2 == 0 ? a : b;
                var queued = StoreRecords.Queued("run" + i, "fake", "x");
                store.Save(queued);
                store.Save(queued.With(status: RunStatus.Running));
                store.Save(Final(queued, i));
            })));

            var listed = NewStore().List();
            Assert.Equal(40, listed.Count);
            Assert.All(listed, r => Assert.Equal(RunStatus.Completed, r.Status));
            Assert.Empty(NewStore().Problems);
        }

        [Fact]
        public void DefaultRootFollowsRayRunnerHome()
        {
            var previous = Environment.GetEnvironmentVariable(FileRunStore.HomeVariable);
            try
            {
                Environment.SetEnvironmentVariable(FileRunStore.HomeVariable, _temp.Sub("home"));
                Assert.Equal(_temp.Sub("home"), FileRunStore.DefaultRoot());
                Environment.SetEnvironmentVariable(FileRunStore.HomeVariable, null);
                Assert.EndsWith(".rayrunner", FileRunStore.DefaultRoot());
            }
            finally
            {
                Environment.SetEnvironmentVariable(FileRunStore.HomeVariable, previous);
            }
        }
    }
}
