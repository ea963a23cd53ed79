using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Ray;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// The read view of a session with no connection: the run store's records, with one thing a
    /// store alone cannot say. A Ray run recorded pending or running whose head no longer answers
    /// is not pending for anyone: it shows <c>unknown</c>, with a note naming the head and its last
    /// recorded phase, and the cmdlet warns once (<see cref="SilentHeadsWarning"/>). A head that
    /// answers leaves the record's phase as it is. Nothing connects, starts or records anything.
    /// </summary>
    internal sealed class StoreOnlyView : IRunView
    {
        readonly RunStoreReader _reader;
        readonly RayHeadReachability _heads;
        readonly ConcurrentDictionary<string, string> _onSilentHeads = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);

        public StoreOnlyView(RunStoreReader reader, RayHeadReachability heads)
        {
            _reader = reader ?? throw new ArgumentNullException(nameof(reader));
            _heads = heads ?? throw new ArgumentNullException(nameof(heads));
        }

        /// <summary>The runs shown <c>unknown</c> because their head did not answer: run id to the head's address.</summary>
        public IReadOnlyDictionary<string, string> RunsOnSilentHeads => _onSilentHeads;

        public IReadOnlyList<RunSnapshot> ListRuns() => _reader.ListRuns().Select(Honest).ToList();

        public RunSnapshot? GetRun(string runId) => _reader.GetRun(runId) is { } s ? Honest(s) : null;

        public ExperimentResult? TryGetResult(string runId) => _reader.TryGetResult(runId);

        public Task<string> GetStatusAsync(string runId, CancellationToken cancellationToken) =>
            Task.FromResult(GetRun(runId)?.Status ?? RunStatus.Unknown);

        public Task<RunSnapshot?> RefreshAsync(string runId, CancellationToken cancellationToken) => Task.FromResult(GetRun(runId));

        public bool IsTracked(string runId) => false;

        public IReadOnlyList<StoreProblem> StoreProblems => _reader.Problems;

        RunSnapshot Honest(RunSnapshot run)
        {
            if (run.Backend != RayJobsBackend.BackendName || (run.Status != RunStatus.Pending && run.Status != RunStatus.Running)) return run;
            var address = _reader.BackendOf(run.RunId)?.Address;
            if (string.IsNullOrEmpty(address) || _heads.Answers(address!)) return run;
            _onSilentHeads[run.RunId] = address!;
            return run.WithStatus(RunStatus.Unknown,
                $"The Ray head at {address} did not answer; the run was last recorded {run.Status}. " +
                $"Connect-RayCluster -Backend Ray -Address {address} follows it if the head is back; if the head was stopped, the run is lost.");
        }
    }
}
