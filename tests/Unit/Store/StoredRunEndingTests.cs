using System;
using System.Collections.Generic;
using System.IO;
using RayRunner.Core;
using RayRunner.Core.Local;
using Xunit;

namespace RayRunner.Tests.Unit.Store
{
    /// <summary>What a session without a connection can see of a local run from its files alone.</summary>
    public class StoredRunEndingTests : IDisposable
    {
        readonly TempFolder _temp = new TempFolder();
        public void Dispose() => _temp.Dispose();

        [Fact]
        public void A_run_recorded_pending_whose_process_claimed_it_is_running_then_ended_from_its_files()
        {
            var store = new FileRunStore(_temp.Sub("home"));
            var log = Path.Combine(Directory.CreateDirectory(_temp.Sub("logs")).FullName, "output.log");
            var files = RunFiles.ForLog(log);
            // Recorded by a session killed right after the hand-over: pending, never updated again.
            store.Save(StoreRecords.Queued("r1", LocalProcessBackend.BackendName, "sh -c true", owner: StoreRecords.DeadProcess).With(
                status: RunStatus.Pending, clearOwner: true,
                submission: new SubmissionRecord
                {
                    Backend = LocalProcessBackend.BackendName,
                    // Its process (this one stands in: alive) outlives the session that started it (dead).
                    Locator = new LocalLocator
                    {
                        Files = files,
                        Pid = Environment.ProcessId,
                        ProcessStart = ProcessIdentity.StartTokenOf(Environment.ProcessId),
                        HostPid = StoreRecords.DeadProcess.Pid,
                        HostStart = StoreRecords.DeadProcess.StartTime,
                        Mode = LaunchMode.Detached,
                    }.ToDictionary(),
                    SubmittedAt = DateTimeOffset.UtcNow,
                }));
            var reader = new RunStoreReader(store, StoredRunEnding.Look, StoredRunEnding.Started);

            // No process has claimed it yet: the record's word stands.
            Assert.Equal(RunStatus.Pending, reader.GetStatus("r1"));

            // Its process claimed it (the trampoline's claim file) and is still going: running.
            File.WriteAllText(files.Started, Environment.ProcessId + "\n");
            Assert.Equal(RunStatus.Running, reader.GetStatus("r1"));
            Assert.Contains(reader.ListRuns(), r => r.RunId == "r1" && r.Status == RunStatus.Running);

            // Its exit file says how it ended: that wins over both.
            File.WriteAllText(files.Exit, "0\n");
            Assert.Equal(RunStatus.Completed, reader.GetStatus("r1"));
        }
    }
}
