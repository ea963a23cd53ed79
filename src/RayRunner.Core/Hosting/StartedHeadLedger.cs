using System;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using RayRunner.Core.Ray;

namespace RayRunner.Core
{
    /// <summary>
    /// The run store's record of the local Ray heads RayRunner started: one small file per address
    /// under <c>$RAYRUNNER_HOME/heads/</c>, naming the process that ran <c>ray start</c>. A later
    /// session that finds the head answering, and its starter gone, takes the head over, so
    /// <c>Disconnect-RayCluster</c> there stops it. A head started by a session that is still alive
    /// stays that session's to stop.
    /// </summary>
    public sealed class StartedHeadLedger : IStartedHeadLedger
    {
        readonly string _folder;

        public StartedHeadLedger(string folder) => _folder = folder ?? throw new ArgumentNullException(nameof(folder));

        sealed class Entry
        {
            public string Address { get; set; } = "";
            public ProcessIdentity? StartedBy { get; set; }
            public DateTimeOffset StartedAt { get; set; }
        }

        public void Record(string address)
        {
            PrivateFiles.CreateFolder(_folder);
            var entry = new Entry { Address = address, StartedBy = ProcessIdentity.Current, StartedAt = DateTimeOffset.UtcNow };
            PrivateFiles.WriteAtomic(PathOf(address), Encoding.UTF8.GetBytes(JsonSerializer.Serialize(entry, RayRunnerJson.Indented)));
        }

        public StartedHeadOwner OwnerOf(string address, out string? who)
        {
            who = null;
            Entry? entry;
            try
            {
                var path = PathOf(address);
                if (!File.Exists(path)) return StartedHeadOwner.None;
                entry = JsonSerializer.Deserialize<Entry>(File.ReadAllText(path), RayRunnerJson.Options);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is JsonException)
            {
                return StartedHeadOwner.None; // unreadable: claim nothing, stop nothing
            }
            if (entry?.StartedBy == null) return StartedHeadOwner.None;
            who = $"pid {entry.StartedBy.Pid.ToString(CultureInfo.InvariantCulture)}, started {entry.StartedAt.ToLocalTime():yyyy-MM-dd HH:mm}";
            return entry.StartedBy.IsAlive ? StartedHeadOwner.LiveSession : StartedHeadOwner.EndedSession;
        }

        public void Forget(string address)
        {
            try { File.Delete(PathOf(address)); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        /// <summary>One file per address: host and port, with anything but letters and digits made '_'.</summary>
        string PathOf(string address)
        {
            var uri = new Uri(address);
            var key = new StringBuilder();
            foreach (var c in uri.Host + "_" + uri.Port.ToString(CultureInfo.InvariantCulture))
                key.Append(char.IsLetterOrDigit(c) || c == '_' ? c : '_');
            return Path.Combine(_folder, key + ".json");
        }
    }
}
