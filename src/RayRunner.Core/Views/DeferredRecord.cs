using System;
using System.Collections.Generic;
using System.Linq;

namespace RayRunner.Core
{
    /// <summary>
    /// The parts of a listed run that its <see cref="RunSummary"/> lacks, read from run.json once,
    /// the first time a caller touches one of them (<see cref="RunSnapshot.FromSummary"/>).
    /// </summary>
    /// <remarks>
    /// The record may have moved on since the listing (the run ended, was retried). What is taken
    /// from it stays true to the summary the snapshot shows: the spec never changes; a result is
    /// taken only when the summary was final (a result, once recorded, never changes); the backend
    /// reference and past attempts only as of the summary's attempt. A record that is gone or damaged
    /// by then leaves those parts empty rather than failing the caller.
    /// </remarks>
    internal sealed class DeferredRecord
    {
        readonly RunSummary _summary;
        readonly Lazy<RunRecord?> _record;

        public DeferredRecord(RunSummary summary, Func<RunSummary, RunRecord?> load)
        {
            _summary = summary;
            _record = new Lazy<RunRecord?>(() => Matching(load(summary)));
        }

        RunRecord? Matching(RunRecord? record) => record != null && record.RunId == _summary.RunId ? record : null;

        public IReadOnlyDictionary<string, object?>? Config => _record.Value?.Spec.Config;

        public TaskOutput? Output => _summary.IsFinal ? _record.Value?.Result : null;

        /// <summary>The error message without reading the record when the summary holds all of it.</summary>
        public string? ErrorMessage => !_summary.IsFinal ? null : _summary.ErrorCut ? Output?.ErrorMessage ?? _summary.Error : _summary.Error;

        public TaskRef ObjectRef
        {
            get
            {
                var submissionId = RunIds.ForAttempt(_summary.RunId, _summary.Attempt);
                if (!_summary.Submitted) return new TaskRef(_summary.Backend, submissionId, null);
                var record = _record.Value;
                return record != null && record.Attempt == _summary.Attempt ? record.ToTaskRef() : new TaskRef(_summary.Backend, submissionId, null);
            }
        }

        public IReadOnlyList<AttemptRecord>? PastAttempts =>
            _summary.Attempt <= 1 ? null : _record.Value?.Attempts?.Where(a => a.Attempt < _summary.Attempt).ToList();

        public RetryPolicy? Retry => _record.Value?.Spec.Retry;

        public TaskOptions? Options => _record.Value?.Spec.Options;
    }
}
