using System;
using System.Management.Automation;
using RayRunner.Core.Sweeps;

namespace RayRunner.PowerShell
{
    /// <summary>What Measure-RaySweep reports (type name <c>RayRunner.SweepSummary</c>): tmgg's stage summary.</summary>
    public sealed class RaySweepSummary
    {
        public string? SweepId { get; private set; }
        public int Total { get; private set; }
        public int Completed { get; private set; }
        public int Failed { get; private set; }
        public int Cancelled { get; private set; }
        public int Unfinished { get; private set; }
        /// <summary>Completed / Total, from 0 to 1.</summary>
        public double SuccessRate { get; private set; }
        public TimeSpan MeanDuration { get; private set; }
        public TimeSpan TotalDuration { get; private set; }
        public DateTime? StartedAt { get; private set; }
        public DateTime? EndedAt { get; private set; }
        public string Metric { get; private set; } = "";
        /// <summary>"minimize" or "maximize".</summary>
        public string Goal { get; private set; } = "minimize";
        public string? BestRunId { get; private set; }
        public double? BestValue { get; private set; }
        /// <summary>How many runs share the best value (the first in input order is BestRun).</summary>
        public int BestTies { get; private set; }
        /// <summary>The best run's result object, as Receive-RayRun writes it.</summary>
        public PSObject? BestRun { get; private set; }

        internal static RaySweepSummary From(SweepSummary s, PSObject? bestRun) => new RaySweepSummary
        {
            SweepId = s.SweepId,
            Total = s.Total,
            Completed = s.Completed,
            Failed = s.Failed,
            Cancelled = s.Cancelled,
            Unfinished = s.Unfinished,
            SuccessRate = s.SuccessRate,
            MeanDuration = TimeSpan.FromSeconds(s.MeanDurationSeconds),
            TotalDuration = TimeSpan.FromSeconds(s.TotalDurationSeconds),
            StartedAt = s.StartedAt?.LocalDateTime,
            EndedAt = s.EndedAt?.LocalDateTime,
            Metric = s.Metric,
            Goal = s.Maximize ? "maximize" : "minimize",
            BestRunId = s.Best?.RunId,
            BestValue = s.BestValue,
            BestTies = s.BestTies,
            BestRun = bestRun,
        };


        internal PSObject ToPSObject()
        {
            var pso = PSValues.WithTypeName(this, TypeNames.SweepSummary);
            return pso;
        }
    }
}
