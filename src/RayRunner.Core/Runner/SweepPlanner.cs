using System;
using System.Collections.Generic;
using System.Linq;

namespace RayRunner.Core
{
    /// <summary>One config of a resumed sweep: a fresh run to launch, or a run of the store to reuse or follow.</summary>
    internal readonly struct SweepStep
    {
        public SweepStep(TrackedRun? fresh, RunRecord? existing)
        {
            Fresh = fresh;
            Existing = existing;
        }

        public TrackedRun? Fresh { get; }
        public RunRecord? Existing { get; }
    }

    /// <summary>
    /// Plans the resume of a sweep as tmgg's coordinator does: configs whose run in the store
    /// completed are reused, those still queued or running here are followed, and only missing
    /// configs and those whose run failed, timed out or was cancelled run again. Configs are
    /// matched by <see cref="ConfigHash"/>. Matching and recording the fresh runs is one locked
    /// step, so two processes resuming the same sweep at once do not both start a missing config.
    /// </summary>
    internal sealed class SweepPlanner
    {
        readonly RunnerContext _ctx;
        readonly RunRecorder _recorder;

        public SweepPlanner(RunnerContext ctx, RunRecorder recorder)
        {
            _ctx = ctx;
            _recorder = recorder;
        }

        /// <summary>One step per run, in order; the fresh runs are already registered (tracked and recorded as queued).</summary>
        public IReadOnlyList<SweepStep> Plan(string sweepId, IReadOnlyList<TrackedRun> runs) => _ctx.Store.WithLock(() =>
        {
            var existing = _ctx.Store.ListAll().RecordsWhere(s => s.SweepId == sweepId);
            var used = new HashSet<string>(StringComparer.Ordinal);
            var steps = new List<SweepStep>(runs.Count);
            try
            {
                foreach (var run in runs)
                {
                    var match = existing
                        .Where(r => !used.Contains(r.RunId) && r.Spec.ConfigHash == run.SpecRecord.ConfigHash && Reusability(r) < 2)
                        .OrderBy(Reusability).ThenBy(r => r.Spec.CreatedAt)
                        .FirstOrDefault();
                    if (match != null)
                    {
                        used.Add(match.RunId);
                        steps.Add(new SweepStep(null, match));
                    }
                    else
                    {
                        _recorder.Register(run);
                        steps.Add(new SweepStep(run, null));
                    }
                }
            }
            catch
            {
                foreach (var fresh in steps.Where(s => s.Fresh != null)) _recorder.Unregister(fresh.Fresh!);
                throw;
            }
            return (IReadOnlyList<SweepStep>)steps;
        });

        /// <summary>0: completed, reuse it; 1: still queued or running here, follow it; 2: run the config again.</summary>
        int Reusability(RunRecord record)
        {
            if (record.IsFinal) return RunStatus.Normalize(record.Result!.Status) == RunStatus.Completed ? 0 : 2;
            return _ctx.CanRunHere(record) ? 1 : 2;
        }
    }
}
