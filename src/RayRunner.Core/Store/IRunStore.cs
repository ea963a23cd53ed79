using System;
using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>
    /// Where the runner records runs. The runner writes a record before it hands a run to the
    /// backend (<c>queued</c>), again once submitted (with the backend's <see cref="TaskRef"/>),
    /// and once more with the result before it reports that result, so a record is never behind
    /// what a caller has been told.
    /// </summary>
    public interface IRunStore
    {
        void Save(RunRecord record);
        RunRecord? TryLoad(string runId);
        IReadOnlyList<RunRecord> List();
        bool Delete(string runId);
    }

    /// <summary>One run as recorded: what was asked, where it went, and how it ended.</summary>
    public sealed class RunRecord
    {
        public string RunId { get; init; } = "";
        public string? SweepId { get; init; }
        public string ConfigHash { get; init; } = "";
        public string Backend { get; init; } = "";
        public string Address { get; init; } = "";
        public string Entrypoint { get; init; } = "";
        public string? WorkingDirectory { get; init; }
        public TaskInput? Input { get; init; }
        public TaskOptions? Options { get; init; }
        public string Status { get; init; } = RunStatus.Queued;
        public IReadOnlyDictionary<string, string>? Locator { get; init; }
        public DateTimeOffset CreatedAt { get; init; }
        public DateTimeOffset? SubmittedAt { get; init; }
        public TaskOutput? Result { get; init; }
    }

    /// <summary>Keeps records for the life of the process only (tmgg's behaviour).</summary>
    public sealed class InMemoryRunStore : IRunStore
    {
        readonly Dictionary<string, RunRecord> _records = new Dictionary<string, RunRecord>(StringComparer.Ordinal);

        public void Save(RunRecord record)
        {
            lock (_records) _records[record.RunId] = record;
        }

        public RunRecord? TryLoad(string runId)
        {
            lock (_records) return _records.TryGetValue(runId, out var r) ? r : null;
        }

        public IReadOnlyList<RunRecord> List()
        {
            lock (_records) return new List<RunRecord>(_records.Values);
        }

        public bool Delete(string runId)
        {
            lock (_records) return _records.Remove(runId);
        }
    }
}
