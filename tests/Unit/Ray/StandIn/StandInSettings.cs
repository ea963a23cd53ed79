using System;
using System.Collections.Generic;

namespace RayRunner.Tests.Unit.Ray.StandIn
{
    /// <summary>
    /// Settings of a stand-in dashboard; change them before or between requests. The defaults
    /// follow Ray (shared/ray/jobs-rest-api.md) except where a test would wait for minutes: the
    /// supervisor starts after 50 ms (Ray: whenever its actor is scheduled), the stop grace is 3 s
    /// as in Ray, and the start timeout is Ray's 900 s.
    /// </summary>
    public sealed class StandInSettings
    {
        /// <summary>ray_version: request fields newer than this are unknown to the stand-in (400), as on a real old cluster.</summary>
        public string RayVersion { get; set; } = "2.49.0";
        /// <summary>The Jobs API version ("4": DELETE exists).</summary>
        public string ApiVersion { get; set; } = "4";
        /// <summary>Token mode when set: no token is 401, a wrong one 403 (Ray 2.52+).</summary>
        public string? Token { get; set; }
        /// <summary>Total experiment_slot of the cluster; null: the cluster has no such resource (jobs asking for it stay PENDING).</summary>
        public double? ExperimentSlots { get; set; }
        /// <summary>Total CPUs; jobs whose entrypoint_num_cpus do not fit wait PENDING.</summary>
        public double Cpus { get; set; } = 1000;
        /// <summary>The first N submits answer 500 "No available agent" (the agent is still starting).</summary>
        public int NoAgentSubmits { get; set; }
        /// <summary>
        /// A misbehaving proxy: every error body (401/403, 404, 400, 5xx, injected faults) repeats
        /// the Authorization header the request carried, so the client must scrub it.
        /// </summary>
        public bool EchoAuthorizationInErrors { get; set; }
        /// <summary>How often the tail WebSocket looks for new log text (Ray: 1 s).</summary>
        public TimeSpan LogPollInterval { get; set; } = TimeSpan.FromMilliseconds(25);

        /// <summary>
        /// Submit is asynchronous (Ray writes the record PENDING, creates the supervisor actor and
        /// answers): the job's supervisor exists only this long after the answer. Until then the job
        /// is PENDING and a stop answers <c>stopped: false</c> and does nothing.
        /// </summary>
        public TimeSpan SupervisorStartDelay { get; set; } = TimeSpan.FromMilliseconds(50);
        /// <summary>RAY_JOB_STOP_WAIT_TIME_S: a stop sends SIGTERM to the driver's process group, and SIGKILL after this.</summary>
        public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(3);
        /// <summary>ray#58353: a stop of a PENDING job (supervisor up, driver not started) answers true and does nothing.</summary>
        public bool IgnoreStopWhilePending { get; set; }
        /// <summary>RAY_JOB_START_TIMEOUT_SECONDS: a job still PENDING this long after its start_time fails with JOB_SUPERVISOR_ACTOR_START_TIMEOUT.</summary>
        public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(900);
        /// <summary>
        /// ray#46413 / ray#48701: the tail WebSocket of a job that has ended closes without sending
        /// its last N lines (GET /logs still has them). 0: the tail is whole.
        /// </summary>
        public int TailDropsLastLines { get; set; }
        /// <summary>DRIVER-type jobs (plain ray.init scripts) the job list holds besides the submissions: no submission_id.</summary>
        public int DriverJobs { get; set; } = 1;
    }

    /// <summary>One request as the stand-in saw it.</summary>
    public sealed record StandInRequest(string Method, string Path, string? UserAgent, string? Authorization, IReadOnlyList<string> HeaderNames);
}
