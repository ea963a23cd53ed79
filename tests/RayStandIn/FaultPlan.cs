using System;
using RayRunner.Tests.Unit.Ray.StandIn;

namespace RayRunner.RayStandIn
{
    /// <summary>Turns the fault options into the stand-in's <see cref="StandInFaults"/> rules.</summary>
    public static class FaultPlan
    {
        public static void Apply(StandInFaults faults, StandInOptions options)
        {
            foreach (var once in options.OneShotFaults)
                faults.Once(once.Method, once.Matches, once.Kind);
            if (options.FaultRate <= 0) return;
            // Random faults only under the prefix (default /api/jobs): the version probe and cluster
            // status stay reliable, so a test of job traffic is not decided by the connect step.
            var plan = StandInFaults.RandomPlan(options.FaultRate, options.FaultSeed, System.Linq.Enumerable.ToArray(options.FaultKinds));
            var prefix = options.FaultPathPrefix;
            faults.Random = request => request.Path.StartsWith(prefix, StringComparison.Ordinal) ? plan(request) : FaultKind.None;
        }
    }
}
