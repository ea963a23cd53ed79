using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using Xunit;

namespace RayRunner.Tests.Unit.Store
{
    /// <summary>
    /// The listing index (index.jsonl, format 2): summaries only, each run's whole record read from
    /// run.json when touched; versioned, so an index of another format is rebuilt, never misread;
    /// and never believed over a run.json that changed behind it (by another store object, by hand).
    /// </summary>
    public class ListingIndexTests : IDisposable
    {
        readonly TempFolder _temp = new TempFolder();
        public void Dispose() => _temp.Dispose();

        string Root => _temp.Sub("store");
        FileRunStore NewStore() => new FileRunStore(Root);
        string IndexPath => Path.Combine(Root, "index.jsonl");
        string RecordPath(string runId) => Path.Combine(Root, "runs", runId, FileRunStore.RecordFileName);

        static RunRecord Ended(RunRecord queued, string status = RunStatus.Completed, string? error = null) => queued.With(
            status: status, clearOwner: true,
            submission: new SubmissionRecord { Backend = "fake", Locator = new Dictionary<string, string> { ["submission_id"] = queued.RunId }, SubmittedAt = DateTimeOffset.UtcNow },
            result: new TaskOutput { RunId = queued.RunId, Status = status, ErrorMessage = error, StartedAt = DateTimeOffset.UtcNow.AddSeconds(-5), CompletedAt = DateTimeOffset.UtcNow });

        static Dictionary<string, object?> Config(string runId, double lr) => new Dictionary<string, object?> { ["lr"] = lr, ["run"] = runId };

        static void WriteByHand(string path, RunRecord record) =>
            File.WriteAllText(path, JsonSerializer.Serialize(record, RayRunnerJson.Indented));

        /// <summary>What a listing shows of each run: id and status, in listing order.</summary>
        static string[] Shown(IEnumerable<RunSnapshot> runs) => runs.Select(r => r.RunId + "=" + r.Status).ToArray();

        [Fact]
        public void A_listing_takes_what_it_shows_from_the_summaries_and_reads_a_record_only_when_touched()
        {
            var store = NewStore();
            var longError = "Traceback (most recent call last):\n  File \"train.py\", line 3\nValueError: diverged";
            store.Save(Ended(StoreRecords.Queued("ok", "fake", "python train.py", "s1", Config("ok", 0.1))));
            store.Save(Ended(StoreRecords.Queued("bad", "fake", "python train.py", "s1", Config("bad", 0.2)), RunStatus.Failed, longError));
            store.Save(StoreRecords.Queued("waiting", "fake", "python train.py", "s2", Config("waiting", 0.3), owner: StoreRecords.DeadProcess));

            var runs = new RunStoreReader(FileRunStore.OpenForReading(Root)).ListRuns();

            var bad = runs.Single(r => r.RunId == "bad");
            Assert.Equal(RunStatus.Failed, bad.Status);
            Assert.Equal("s1", bad.SweepId);
            Assert.Equal(ConfigHash.Compute(Config("bad", 0.2)), bad.ConfigHash);
            Assert.NotNull(bad.CompletedAt);
            Assert.True(runs.Single(r => r.RunId == "waiting").IsOrphan, "owner and claim are in the summary");

            // The config is read from run.json when first touched, not when listed: a record
            // rewritten after the listing shows its config as it is then.
            var rewritten = StoreRecords.Queued("ok", "fake", "python train.py", "s1", Config("ok", 0.9));
            WriteByHand(RecordPath("ok"), Ended(rewritten));
            Assert.Equal(0.9, runs.Single(r => r.RunId == "ok").Config["lr"]);
            // A cut error line is read whole from the record.
            Assert.Equal(longError, bad.ErrorMessage);
            Assert.Equal(longError, bad.Output!.ErrorMessage);
            Assert.Equal("bad", bad.ObjectRef!.Locator["submission_id"]);

            var index = File.ReadAllText(IndexPath);
            Assert.DoesNotContain("diverged", index); // only the error's first line is in the index
            Assert.Contains("Traceback (most recent call last):", index);
        }

        [Fact]
        public void The_parts_read_later_stay_true_to_the_state_the_listing_showed()
        {
            var store = NewStore();
            var queued = StoreRecords.Queued("r1", "fake", "x", config: Config("r1", 0.5));
            store.Save(queued);
            var listed = new RunStoreReader(NewStore()).ListRuns().Single();

            store.Save(Ended(queued)); // the run ends after the listing

            Assert.Equal(RunStatus.Queued, listed.Status);
            Assert.Null(listed.Output); // not the result of a state the listing did not show
            Assert.Equal(0.5, listed.Config["lr"]); // the spec never changes
            Assert.Equal(RunStatus.Completed, new RunStoreReader(NewStore()).ListRuns().Single().Output!.Status);
        }

        [Fact]
        public void An_index_of_the_old_format_is_rebuilt_not_misread()
        {
            var store = NewStore();
            var queued = StoreRecords.Queued("r1", "fake", "x");
            store.Save(Ended(queued));
            // A format-1 index (full records, no header) whose entry matches run.json's stamp but says
            // "failed": read as a summary index it would be believed.
            var stamp = StampOf("r1");
            var oldLine = JsonSerializer.Serialize(new { stamp, record = Ended(queued, RunStatus.Failed, "old") }, RayRunnerJson.Options);
            File.WriteAllText(IndexPath, oldLine + "\n");

            Assert.Equal(new[] { "r1=completed" }, Shown(new RunStoreReader(FileRunStore.OpenForReading(Root)).ListRuns()));
            Assert.Equal(oldLine + "\n", File.ReadAllText(IndexPath)); // a reader writes nothing

            Assert.Equal(RunStatus.Completed, NewStore().List().Single().Status);
            var lines = File.ReadAllLines(IndexPath);
            Assert.StartsWith("{\"format\":2,", lines[0]);
            Assert.Contains("\"status\":\"completed\"", lines[1]);
        }

        [Fact]
        public void Lines_an_older_build_appends_and_a_newer_format_are_not_misread()
        {
            var store = NewStore();
            var queued = StoreRecords.Queued("r1", "fake", "x");
            store.Save(Ended(queued));
            store.List();
            var stamp = StampOf("r1");

            // An older RayRunner appending a format-1 line to this index.
            File.AppendAllText(IndexPath, JsonSerializer.Serialize(new { stamp, record = Ended(queued, RunStatus.Failed, "old") }, RayRunnerJson.Options) + "\n");
            Assert.Equal(RunStatus.Completed, NewStore().List().Single().Status);
            Assert.DoesNotContain("\"record\"", File.ReadAllText(IndexPath)); // rebuilt

            // A newer RayRunner's index (format 3) whose line would read as a summary saying "failed".
            var summary = JsonSerializer.Serialize(RunSummary.Of(Ended(queued, RunStatus.Failed), stamp), RayRunnerJson.Options);
            File.WriteAllText(IndexPath, "{\"format\":3,\"generation\":\"abc\"}\n" + summary + "\n");
            Assert.Equal(new[] { "r1=completed" }, Shown(new RunStoreReader(FileRunStore.OpenForReading(Root)).ListRuns()));
        }

        [Fact]
        public void An_index_cut_mid_line_still_lists_every_run_as_recorded_and_is_rebuilt()
        {
            var store = NewStore();
            for (var i = 0; i < 20; i++)
            {
                var queued = StoreRecords.Queued($"r{i:D2}", "fake", "x");
                store.Save(queued);
                if (i % 2 == 0) store.Save(Ended(queued));
            }
            var bytes = File.ReadAllBytes(IndexPath);
            var cut = bytes.Length / 2;
            while (bytes[cut] == (byte)'\n') cut++; // mid-line, not at a line's end
            File.WriteAllBytes(IndexPath, bytes.Take(cut).ToArray());

            var expected = Enumerable.Range(0, 20).Select(i => $"r{i:D2}=" + (i % 2 == 0 ? "completed" : "queued")).ToArray();
            Assert.Equal(expected, Shown(new RunStoreReader(FileRunStore.OpenForReading(Root)).ListRuns()));
            Assert.Equal(expected, Shown(new RunStoreReader(NewStore()).ListRuns()));
            var lines = File.ReadAllLines(IndexPath);
            Assert.Equal(21, lines.Length); // the header and one summary per run
            Assert.Equal(expected, Shown(new RunStoreReader(NewStore()).ListRuns()));
        }

        [Fact]
        public void Runs_changed_by_hand_are_listed_as_their_folders_say()
        {
            var store = NewStore();
            foreach (var id in new[] { "gone", "replaced", "damaged", "kept" })
                store.Save(StoreRecords.Queued(id, "fake", "x", config: Config(id, 0.1)));
            store.List(); // the index is complete and current

            Directory.Delete(Path.Combine(Root, "runs", "gone"), recursive: true);
            WriteByHand(RecordPath("replaced"), Ended(StoreRecords.Queued("replaced", "fake", "x", config: Config("replaced", 0.7)), RunStatus.Failed, "by hand"));
            File.WriteAllText(RecordPath("damaged"), "{\"run_id\": \"damaged\", \"sta");
            var added = StoreRecords.Queued("added", "fake", "x");
            Directory.CreateDirectory(Path.GetDirectoryName(RecordPath("added"))!);
            WriteByHand(RecordPath("added"), added);

            foreach (var reader in new[] { new RunStoreReader(FileRunStore.OpenForReading(Root)), new RunStoreReader(NewStore()) })
            {
                var runs = reader.ListRuns();
                Assert.Equal(new[] { "added=queued", "damaged=damaged", "kept=queued", "replaced=failed" }, Shown(runs.OrderBy(r => r.RunId, StringComparer.Ordinal)));
                var replaced = runs.Single(r => r.RunId == "replaced");
                Assert.Equal(0.7, replaced.Config["lr"]);
                Assert.Equal("by hand", replaced.ErrorMessage);
                Assert.Contains("is damaged", runs.Single(r => r.RunId == "damaged").ErrorMessage);
            }
        }

        [Fact]
        public async Task Two_writers_and_a_lister_on_separate_store_objects_agree_at_every_listing()
        {
            // Two writers (as two processes would: each its own FileRunStore, sharing only the files
            // and the lock) record runs queued then completed while a third object lists again and
            // again. Every listing must show each run as it was recorded at some point, never a run
            // going back from completed, and the last listing everything completed.
            const int Runs = 60;
            var writers = new[] { NewStore(), NewStore() };
            using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            var writing = Enumerable.Range(0, 2).Select(w => Task.Run(() =>
            {
                for (var i = w; i < Runs; i += 2)
                {
                    var queued = StoreRecords.Queued($"r{i:D3}", "fake", "x", config: Config($"r{i:D3}", i));
                    writers[w].Save(queued);
                    writers[w].Save(Ended(queued));
                }
            })).ToArray();
            var lister = NewStore();
            var completedSeen = new HashSet<string>();
            var listings = 0;
            var done = false;
            while (!done)
            {
                done = writing.All(t => t.IsCompleted); // one more listing after the writers finished
                stop.Token.ThrowIfCancellationRequested();
                foreach (var fresh in new[] { lister, NewStore() })
                {
                    var runs = new RunStoreReader(fresh).ListRuns();
                    listings++;
                    foreach (var run in runs)
                    {
                        Assert.True(run.Status == RunStatus.Queued || run.Status == RunStatus.Completed, $"{run.RunId} listed {run.Status}");
                        if (run.Status == RunStatus.Completed) completedSeen.Add(run.RunId);
                        else Assert.DoesNotContain(run.RunId, completedSeen);
                    }
                }
            }
            await Task.WhenAll(writing);
            Assert.True(listings >= 2);
            var last = new RunStoreReader(NewStore()).ListRuns();
            Assert.Equal(Runs, last.Count);
            Assert.All(last, r => Assert.Equal(RunStatus.Completed, r.Status));
            Assert.All(last, r => Assert.Equal((double)int.Parse(r.RunId.Substring(1)), Convert.ToDouble(r.Config["lr"])));
            Assert.Equal(Runs, lister.List().Count(r => r.IsFinal));
        }

        [Fact]
        public void A_record_written_without_its_index_line_is_listed_from_its_file()
        {
            // A writer killed after renaming run.json into place and before appending its summary.
            var store = NewStore();
            var queued = StoreRecords.Queued("r1", "fake", "x");
            store.Save(queued);
            store.List();
            WriteByHand(RecordPath("r1"), Ended(queued, RunStatus.Failed, "late"));

            var run = new RunStoreReader(FileRunStore.OpenForReading(Root)).ListRuns().Single();

            Assert.Equal(RunStatus.Failed, run.Status);
            Assert.Equal("late", run.ErrorMessage);
        }

        [Fact]
        public void Saves_compact_the_index_once_it_grows_past_twice_its_live_summaries()
        {
            // A sweep appends a line per save (queued, claimed, submitted, running, result): without
            // compaction a new session would parse several lines per run. (No log retention: its
            // recount lists the store, which compacts too, and would hide the saves' own compaction.)
            var store = new FileRunStore(Root, LogRetention.Unlimited);
            const int Runs = 100, SavesPerRun = 8;
            for (var i = 0; i < Runs; i++)
            {
                var record = StoreRecords.Queued($"r{i:D3}", "fake", "x", config: Config($"r{i:D3}", i));
                for (var k = 0; k < SavesPerRun - 1; k++) store.Save(record = record.With(status: k % 2 == 0 ? RunStatus.Pending : RunStatus.Running));
                store.Save(Ended(record));
            }

            var lines = File.ReadAllLines(IndexPath);
            Assert.True(lines.Length < Runs * SavesPerRun * 3 / 4, $"the index holds {lines.Length} lines for {Runs} runs");
            Assert.Matches("^\\{\"format\":2,\"generation\":\"[0-9a-f]+\",\"live_bytes\":[1-9][0-9]*\\}$", lines[0]);
            var runs = new RunStoreReader(FileRunStore.OpenForReading(Root)).ListRuns();
            Assert.Equal(Runs, runs.Count);
            Assert.All(runs, r => Assert.Equal(RunStatus.Completed, r.Status));
        }

        [Fact]
        public void The_index_reader_reads_back_every_part_the_serializer_writes()
        {
            var claim = new DispatchClaim { By = new ProcessIdentity { Pid = 42, StartTime = "proc:7", Host = "h\"1" }, At = DateTimeOffset.Parse("2026-12-01T10:00:00.1234567+02:00") };
            var queued = StoreRecords.Queued("r1", "ray", "python \"t.py\" {overrides}", "s\u00e9", owner: StoreRecords.DeadProcess, claim: claim);
            var full = new RunRecord
            {
                RunId = queued.RunId, Status = RunStatus.Failed, Spec = new RunSpecRecord
                {
                    SweepId = queued.SweepId, ConfigHash = "abc", Config = queued.Spec.Config, Entrypoint = queued.Spec.Entrypoint, Backend = "ray",
                    CreatedAt = DateTimeOffset.Parse("2026-11-30T23:59:59.9999999-05:00"),
                    Input = new TaskInput(queued.Spec.Config, "r1") { AdditionalTags = new[] { "a", "b,c" } },
                },
                Owner = queued.Owner, Claim = claim, Attempt = 3,
                Submission = new SubmissionRecord { Backend = "ray", SubmittedAt = DateTimeOffset.UtcNow },
                Result = new TaskOutput { RunId = "r1", Status = RunStatus.Failed, ErrorMessage = "line one\nline two", StartedAt = DateTimeOffset.UtcNow, CompletedAt = DateTimeOffset.UtcNow },
            };
            foreach (var summary in new[] { RunSummary.Of(full, "12:34"), RunSummary.Of(queued, "5:6") })
            {
                var line = JsonSerializer.Serialize(summary, RayRunnerJson.Options);
                var read = RunSummaryReader.TryRead(System.Text.Encoding.UTF8.GetBytes(line));
                Assert.NotNull(read);
                Assert.Equal(line, JsonSerializer.Serialize(read, RayRunnerJson.Options));
            }
            Assert.Null(RunSummaryReader.TryRead(System.Text.Encoding.UTF8.GetBytes("{\"run_id\":\"r1\",\"attempt\":\"x\"}")));
            Assert.Null(RunSummaryReader.TryRead(System.Text.Encoding.UTF8.GetBytes("{\"run_id\":\"r1\"} {}")));
            Assert.Null(RunSummaryReader.TryRead(System.Text.Encoding.UTF8.GetBytes("{\"run_id\":\"r1\",")));
            Assert.Equal("r1", RunSummaryReader.TryRead(System.Text.Encoding.UTF8.GetBytes("{\"later\":{\"x\":[1,{}]},\"run_id\":\"r1\"}"))!.RunId);
        }

        string StampOf(string runId)
        {
            var info = new FileInfo(RecordPath(runId));
            return info.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + info.LastWriteTimeUtc.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
