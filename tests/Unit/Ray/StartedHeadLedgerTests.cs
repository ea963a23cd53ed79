using System;
using System.IO;
using RayRunner.Core;
using RayRunner.Core.Ray;
using Xunit;

namespace RayRunner.Tests.Unit.Ray
{
    /// <summary>
    /// The run store's memory of the local heads RayRunner started: a head is taken over by a later
    /// session only when the session that started it has ended, never while it is alive.
    /// </summary>
    public sealed class StartedHeadLedgerTests : IDisposable
    {
        readonly string _folder = Path.Combine(Path.GetTempPath(), "rr-heads-" + Guid.NewGuid().ToString("N"));
        const string Address = "http://127.0.0.1:18265";

        public void Dispose()
        {
            try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
        }

        [Fact]
        public void A_head_this_process_started_belongs_to_a_live_session_until_it_is_forgotten()
        {
            var ledger = new StartedHeadLedger(_folder);
            Assert.Equal(StartedHeadOwner.None, ledger.OwnerOf(Address, out _));

            ledger.Record(Address);
            Assert.Equal(StartedHeadOwner.LiveSession, ledger.OwnerOf(Address, out var who));
            Assert.Contains("pid " + Environment.ProcessId, who);
            Assert.Equal(StartedHeadOwner.None, ledger.OwnerOf("http://127.0.0.1:18266", out _));

            ledger.Forget(Address);
            Assert.Equal(StartedHeadOwner.None, ledger.OwnerOf(Address, out _));
        }

        [Fact]
        public void A_head_whose_starter_has_ended_is_nobodys_and_a_damaged_record_claims_nothing()
        {
            var ledger = new StartedHeadLedger(_folder);
            ledger.Record(Address);
            var file = Assert.Single(Directory.GetFiles(_folder, "*.json"));
            // The same record, as left by a process that is gone: a start time no live process has.
            var text = File.ReadAllText(file);
            var start = ProcessIdentity.Current.StartTime;
            File.WriteAllText(file, text.Replace(start, start + "0"));
            Assert.Equal(StartedHeadOwner.EndedSession, ledger.OwnerOf(Address, out _));

            File.WriteAllText(file, "{ not json");
            Assert.Equal(StartedHeadOwner.None, ledger.OwnerOf(Address, out _));
        }
    }
}
