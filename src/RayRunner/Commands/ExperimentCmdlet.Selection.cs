using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Which configs of the input run: -Filter and -First pick a subset of a sweep, -WhatIf lists
    /// what would run, and -RequireMetric makes -Resume count a completed run as done only when it
    /// reported the named metrics. All of it is decided here, in the cmdlet, on top of the runner's
    /// own resume, which it leaves as it is.
    /// </summary>
    public abstract partial class ExperimentCmdlet
    {
        /// <summary>Only configs for which this script block returns true ($_ is the config as piped).</summary>
        [Parameter]
        public ScriptBlock? Filter { get; set; }

        /// <summary>Only the first N configs (after -Filter).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int First { get; set; }

        /// <summary>With -Resume: a completed run counts as done only if it reported these metrics (finite values).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] RequireMetric { get; set; } = Array.Empty<string>();

        int _selected;
        bool _freshRuns;

        /// <summary>Applies -Filter and -First to one input item.</summary>
        bool Selected(object? item)
        {
            if (Filter != null)
            {
                var verdict = Filter.InvokeWithContext(null, new List<PSVariable> { new PSVariable("_", item) });
                if (!LanguagePrimitives.IsTrue(verdict.Count == 1 ? verdict[0] : verdict)) return false;
            }
            if (MyInvocation.BoundParameters.ContainsKey(nameof(First)) && _selected >= First) return false;
            _selected++;
            return true;
        }

        /// <summary>
        /// Asks ShouldProcess for each config; keeps those approved. With -WhatIf this lists the sweep
        /// (number, label or settings, and with -Resume the runs reused or followed) and starts nothing. Returns false when nothing is left to run.
        /// </summary>
        internal bool ConfirmConfigs()
        {
            if (RequireMetric.Length > 0 && !Resume)
                ThrowTerminatingError(ErrorMapper.Make(ErrorIds.ResumeNeedsSweepId, ErrorCategory.InvalidArgument,
                    "-RequireMetric says when a run of a resumed sweep counts as done; it needs -Resume and -SweepId.", RequireMetric));
            // With -Resume, a config the store already has a completed or running run for is not
            // started: -WhatIf says so instead of listing it as a run to start.
            var resume = Resume && SweepId != null && Records() is { } records ? new ResumePreview(records.ListRuns(), SweepId, RequireMetric) : null;
            var approved = _configs.Where(c => ShouldProcess(
                $"config #{c.Index}: {c.Label ?? RayRunnerJson.ConfigToJson(c.Normalized)}",
                resume?.ActionFor(c.Normalized) ?? "Start experiment run")).ToList();
            _configs.Clear();
            _configs.AddRange(approved);
            return _configs.Count > 0;
        }

        /// <summary>
        /// Submits every valid config; returns the runs in input order. With -Resume -RequireMetric,
        /// configs whose completed run has the metrics return that run; configs whose completed runs
        /// all lack them run afresh (the runner's resume would reuse those); the rest resume as usual.
        /// </summary>
        internal IReadOnlyList<RaySpawnedTask> SubmitAll(ClusterConnection connection)
        {
            if (!Resume || RequireMetric.Length == 0 || _configs.Count == 0) return SubmitBatch(connection);

            var recorded = connection.Runs.Store.ListRuns()
                .Where(r => r.SweepId == SweepId && r.Status == RunStatus.Completed && r.Output != null)
                .Select(r => (Run: r, Hash: r.ConfigHash, Complete: RequireMetric.All(m => r.Output!.Metrics.TryGetValue(m, out var v) && !double.IsNaN(v) && !double.IsInfinity(v))))
                .ToList();
            var used = new HashSet<string>(StringComparer.Ordinal);
            var done = new Dictionary<PendingConfig, RaySpawnedTask>();
            var again = new List<PendingConfig>();
            var rest = new List<PendingConfig>();
            foreach (var config in _configs)
            {
                var hash = ConfigHash.Compute(config.Normalized);
                var complete = recorded.FirstOrDefault(r => r.Hash == hash && r.Complete && !used.Contains(r.Run.RunId));
                if (complete.Run != null)
                {
                    used.Add(complete.Run.RunId);
                    done[config] = new RaySpawnedTask(complete.Run.RunId, complete.Run.ObjectRef ?? new TaskRef(complete.Run.Backend, complete.Run.RunId)) { SweepId = SweepId };
                    WriteVerbose($"Config #{config.Index}: completed earlier in run {complete.Run.RunId} with {string.Join(", ", RequireMetric)}; not run again.");
                }
                else if (recorded.Any(r => r.Hash == hash))
                {
                    again.Add(config);
                    WriteVerbose($"Config #{config.Index}: its completed run lacks {string.Join(" or ", RequireMetric)}; running it again.");
                }
                else
                {
                    rest.Add(config);
                }
            }

            var all = _configs.ToList();
            var byConfig = new Dictionary<PendingConfig, RaySpawnedTask>(done);
            try
            {
                Collect(rest, fresh: false);
                Collect(again, fresh: true);
            }
            finally
            {
                _configs.Clear();
                _configs.AddRange(all);
            }
            return all.Where(byConfig.ContainsKey).Select(c => byConfig[c]).ToList();

            void Collect(List<PendingConfig> batch, bool fresh)
            {
                if (batch.Count == 0) return;
                _configs.Clear();
                _configs.AddRange(batch);
                _freshRuns = fresh;
                try
                {
                    var spawned = SubmitBatch(connection);
                    // SubmitBatch returns runs in input order; on a partial failure, the ones it started.
                    for (var i = 0; i < spawned.Count && i < batch.Count; i++) byConfig[batch[i]] = spawned[i];
                }
                finally
                {
                    _freshRuns = false;
                }
            }
        }
    }
}
