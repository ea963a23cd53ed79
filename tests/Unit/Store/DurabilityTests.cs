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
    /// <summary>
    /// The store flushes a final result to disk before it takes the lock (docs/run-store.md,
    /// "Durability"): the temp file it prepared may be swept by another writer's clean-up of crash
    /// leftovers, and the save must then still land, whole, exactly once.
    /// </summary>
    public class DurabilityTests : IDisposable
    {
        readonly TempFolder _temp = new TempFolder();
        public void Dispose() => _temp.Dispose();

        static RunRecord Final(RunRecord queued, double loss) => queued.With(
            status: RunStatus.Completed, clearOwner: true,
            submission: new SubmissionRecord { Backend = "fake", Locator = new Dictionary<string, string> { ["submission_id"] = queued.RunId }, SubmittedAt = DateTimeOffset.UtcNow },
            result: StoreRecords.Completed(queued.RunId, loss));

        [Fact]
        public void A_flushed_temp_file_commits_into_place_and_a_swept_one_reports_false()
        {
            var target = Path.Combine(_temp.Sub("files"), "run.json");
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);

            var temp = PrivateFiles.WriteFlushedTemp(target, Encoding.UTF8.GetBytes("first"))!;
            Assert.True(File.Exists(temp));
            Assert.EndsWith(PrivateFiles.TempSuffix, temp);
            Assert.True(PrivateFiles.TryCommit(temp, target));
            Assert.Equal("first", File.ReadAllText(target));
            Assert.False(File.Exists(temp));

            var swept = PrivateFiles.WriteFlushedTemp(target, Encoding.UTF8.GetBytes("second"))!;
            File.Delete(swept); // another writer's clean-up of leftovers took it
            Assert.False(PrivateFiles.TryCommit(swept, target));
            Assert.Equal("first", File.ReadAllText(target));
        }

        [Fact]
        public async Task A_result_whose_flushed_temp_file_was_swept_while_it_waited_for_the_lock_is_written_again()
        {
            var store = new FileRunStore(_temp.Sub("store"), LogRetention.Unlimited);
            var queued = store.Save(StoreRecords.Queued("run1", "fake", "x"));
            var folder = store.RunFolder("run1");
            Task<RunRecord>? result = null;

            // Hold the store lock, let the result's save flush its temp file and block on the lock,
            // then make another save of the run (same thread: the lock is re-entrant), whose clean-up
            // of leftovers sweeps that temp file.
            store.WithLock(() =>
            {
                result = Task.Run(() => store.Save(Final(queued, 1.5)));
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (!Directory.EnumerateFiles(folder, "*" + PrivateFiles.TempSuffix).Any())
                {
                    Assert.True(DateTime.UtcNow < deadline, "the result's save never flushed its temp file");
                    Assert.False(result.IsCompleted, "the result's save ended without waiting for the lock");
                    System.Threading.Thread.Sleep(5);
                }
                store.Save(queued.With(status: RunStatus.Running));
                Assert.Empty(Directory.EnumerateFiles(folder, "*" + PrivateFiles.TempSuffix));
                return 0;
            });
            var saved = await result!;

            Assert.True(saved.IsFinal);
            var loaded = store.TryLoad("run1");
            Assert.True(loaded!.IsFinal, "the result was lost when its flushed temp file was swept");
            Assert.Equal(1.5, loaded.Result!.Metrics["loss"]);
            Assert.Empty(Directory.EnumerateFiles(folder, "*" + PrivateFiles.TempSuffix));
        }

        [Fact]
        public async Task Results_saved_at_once_with_other_writes_to_the_same_runs_all_land_whole_and_leave_no_temp_files()
        {
            // Each run gets its result from two threads at once while a third rewrites its
            // non-final record: the clean-up under the lock sweeps other writers' prepared temp
            // files, so this exercises the fall-back write. The first result wins, as promised.
            var store = new FileRunStore(_temp.Sub("store"), LogRetention.Unlimited);
            var ids = Enumerable.Range(0, 60).Select(i => "run" + i.ToString("D3")).ToList();
            foreach (var id in ids) store.Save(StoreRecords.Queued(id, "fake", "x"));

            var writes = ids.SelectMany(id =>
            {
                var queued = store.TryLoad(id)!;
                return new Func<RunRecord>[]
                {
                    () => store.Save(Final(queued, 1.0)),
                    () => store.Save(Final(queued, 2.0)),
                    () => store.Save(queued.With(status: RunStatus.Running)),
                };
            }).Select(write => Task.Run(write)).ToArray();
            await Task.WhenAll(writes);

            foreach (var id in ids)
            {
                var record = store.TryLoad(id);
                Assert.NotNull(record);
                Assert.True(record!.IsFinal, $"{id} lost its result");
                Assert.Contains(record.Result!.Metrics["loss"], new[] { 1.0, 2.0 });
                Assert.Empty(Directory.EnumerateFiles(store.RunFolder(id), "*" + PrivateFiles.TempSuffix));
            }
            Assert.Equal(ids, store.List().Select(r => r.RunId).OrderBy(x => x, StringComparer.Ordinal));
            Assert.Empty(store.Problems);
        }
    }
}
