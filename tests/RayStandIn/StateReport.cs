using System;
using System.Collections.Generic;
using System.Linq;
using RayRunner.Tests.Unit.Ray.StandIn;

namespace RayRunner.RayStandIn
{
    /// <summary>
    /// What GET /state answers: the stand-ins' counters, read back by the Pester tests. Built from the
    /// stand-ins' public API only. Never carries the token: requests say only whether they had one.
    /// </summary>
    public static class StateReport
    {
        public static object Build(RayDashboardStandIn? dashboard, RayCliStandInHost? cli, string? token) => new
        {
            dashboard = dashboard == null ? null : Dashboard(dashboard, token),
            cli = cli == null ? null : new
            {
                startCalls = cli.StartCalls,
                stopCalls = cli.StopCalls,
                invocations = cli.Invocations(),
                dashboard = cli.Dashboard == null ? null : Dashboard(cli.Dashboard, token),
            },
        };

        static object Dashboard(RayDashboardStandIn d, string? token) => new
        {
            address = d.Address,
            port = d.Port,
            jobsCreated = Copy(d.JobsCreated),
            submitPosts = Copy(d.SubmitPosts),
            duplicateSubmits = Copy(d.DuplicateSubmits),
            maxRunning = d.MaxRunning,
            faultsInjected = Enum.GetValues(typeof(FaultKind)).Cast<FaultKind>()
                .Where(k => k != FaultKind.None)
                .ToDictionary(k => k.ToString(), k => d.Faults.Injected(k)),
            requests = d.Requests.Select(r => new { method = r.Method, path = r.Path, authorization = r.Authorization != null }).ToList(),
            jobs = d.AllJobs().OrderBy(j => j.StartTime).Select(j => new
            {
                submissionId = j.SubmissionId,
                status = j.Status,
                startTime = j.StartTime,
                endTime = j.EndTime,
                entrypoint = j.Entrypoint,
                numCpus = j.NumCpus,
                numGpus = j.NumGpus,
                memoryBytes = j.MemoryBytes,
                resources = j.Resources,
                metadata = j.Metadata,
                runtimeEnv = j.RuntimeEnvJson,
                // Whether the submitted job (entrypoint, env_vars, metadata...) carries the token: it never should.
                carriesToken = token != null && j.RequestBody.Contains(token, StringComparison.Ordinal),
            }).ToList(),
        };

        static Dictionary<string, int> Copy(IReadOnlyDictionary<string, int> counts) => counts.ToDictionary(kv => kv.Key, kv => kv.Value);
    }
}
