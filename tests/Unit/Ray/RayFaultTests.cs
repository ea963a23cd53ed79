using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Ray;
using RayRunner.Tests.Unit.Ray.StandIn;
using Xunit;

namespace RayRunner.Tests.Unit.Ray
{
    /// <summary>Exactly-once submission and recovery under the faults a real dashboard shows.</summary>
    public class RayFaultTests
    {
        static readonly TimeSpan Generous = RayTestSupport.Generous;
        static bool IsSubmit(string path) => path == "/api/jobs/";

        static async Task<TaskOutput> RunOneAsync(RayJobsBackend backend, string id)
        {
            var task = await backend.SubmitAsync(RayTestSupport.Spec(id, new Dictionary<string, object?> { ["value"] = 5L }), new TaskOptions(), default);
            using var cts = new CancellationTokenSource(Generous);
            return await backend.GetAsync(task, cts.Token);
        }

        static void AssertSubmittedOnce(RayDashboardStandIn standIn, string id)
        {
            Assert.Equal(1, standIn.JobsCreated[id]);
            Assert.False(standIn.DuplicateSubmits.ContainsKey(id));
        }

        [Fact]
        public async Task A_submit_answered_500_is_checked_by_id_then_sent_again_once()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            standIn.Faults.Once("POST", IsSubmit, FaultKind.ServerError);
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var output = await RunOneAsync(backend, "f500001");
            Assert.Equal(5, output.Metrics["value"]);
            Assert.Equal(1, standIn.Faults.Injected(FaultKind.ServerError));
            AssertSubmittedOnce(standIn, "f500001");
            Assert.Equal(2, standIn.CountRequests("POST", IsSubmit));
            AssertLookedBeforeEachResend(standIn, "f500001");
        }

        /// <summary>
        /// Read from the request log, in arrival order: between any two POSTs of the run there is a
        /// GET of the run by id. (The poller's GETs come only after the submit returned, so they
        /// cannot stand in for the look-up.)
        /// </summary>
        static void AssertLookedBeforeEachResend(RayDashboardStandIn standIn, string id)
        {
            var log = standIn.Requests.ToList();
            var posts = log.Select((r, i) => (r, i)).Where(x => x.r.Method == "POST" && IsSubmit(x.r.Path)).Select(x => x.i).ToList();
            Assert.True(posts.Count >= 2, "the test expects the submit to have been sent again");
            for (var k = 1; k < posts.Count; k++)
            {
                var between = log.Skip(posts[k - 1] + 1).Take(posts[k] - posts[k - 1] - 1);
                Assert.True(between.Any(r => r.Method == "GET" && r.Path == "/api/jobs/" + id),
                    $"POST #{k + 1} of {id} was sent without a GET of the job by id after POST #{k}: " +
                    string.Join(", ", log.Select(r => r.Method + " " + r.Path)));
            }
        }

        [Fact]
        public async Task A_submit_whose_response_is_lost_after_the_job_was_recorded_is_not_sent_again()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            standIn.Faults.Once("POST", IsSubmit, FaultKind.LoseResponse);
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var output = await RunOneAsync(backend, "lost001");
            Assert.Equal(RunStatus.Completed, output.Status);
            Assert.Equal(1, standIn.Faults.Injected(FaultKind.LoseResponse));
            Assert.Equal(1, standIn.SubmitPosts["lost001"]); // found by GET, never POSTed again
            AssertSubmittedOnce(standIn, "lost001");
        }

        [Fact]
        public async Task A_submit_stalled_past_the_client_timeout_is_recovered_without_a_duplicate()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            standIn.Faults.StallFor = TimeSpan.FromSeconds(3);
            standIn.Faults.Once("POST", IsSubmit, FaultKind.Stall);
            using var backend = await RayTestSupport.ConnectAsync(standIn, RayTestSupport.Fast(standIn.Address, requestTimeout: TimeSpan.FromMilliseconds(400)));
            var output = await RunOneAsync(backend, "stall01");
            Assert.Equal(RunStatus.Completed, output.Status);
            Assert.Equal(1, standIn.Faults.Injected(FaultKind.Stall));
            AssertSubmittedOnce(standIn, "stall01");
            AssertLookedBeforeEachResend(standIn, "stall01");
        }

        [Fact]
        public async Task A_submit_whose_connection_dropped_is_looked_up_by_id_before_it_is_sent_again()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            standIn.Faults.Once("POST", IsSubmit, FaultKind.Drop);
            standIn.Faults.Once("POST", IsSubmit, FaultKind.ServerError);
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var output = await RunOneAsync(backend, "dropp01");
            Assert.Equal(RunStatus.Completed, output.Status);
            Assert.Equal(3, standIn.CountRequests("POST", IsSubmit));
            AssertLookedBeforeEachResend(standIn, "dropp01");
            AssertSubmittedOnce(standIn, "dropp01");
        }

        [Fact]
        public async Task Dropped_connections_on_status_and_log_reads_are_retried()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            standIn.Faults.Once("GET", p => p == "/api/jobs/drop001", FaultKind.Drop);
            standIn.Faults.Once("GET", p => p == "/api/jobs/drop001", FaultKind.ServerError);
            standIn.Faults.Once("GET", p => p == "/api/jobs/drop001/logs", FaultKind.Drop);
            standIn.Faults.Once("GET", p => p == "/api/jobs/drop001/logs", FaultKind.ServerError);
            var output = await RunOneAsync(backend, "drop001");
            Assert.Equal(5, output.Metrics["value"]);
            Assert.True(standIn.Faults.Injected(FaultKind.Drop) >= 2);
            AssertSubmittedOnce(standIn, "drop001");
        }

        [Fact]
        public async Task A_duplicate_id_answer_means_already_submitted()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            // Two backends (two processes in real life) submit the same run.
            using var first = await RayTestSupport.ConnectAsync(standIn);
            using var second = await RayTestSupport.ConnectAsync(standIn);
            var spec = RayTestSupport.Spec("dup0001", new Dictionary<string, object?> { ["value"] = 1L });
            var a = await first.SubmitAsync(spec, new TaskOptions(), default);
            var b = await second.SubmitAsync(spec, new TaskOptions(), default);
            Assert.Equal(a.Locator, b.Locator);
            Assert.Equal(1, standIn.JobsCreated["dup0001"]);
            Assert.Equal(1, standIn.DuplicateSubmits["dup0001"]);
            Assert.Equal(RunStatus.Completed, (await second.GetAsync(b, new CancellationTokenSource(Generous).Token)).Status);
        }

        [Fact]
        public async Task A_different_job_holding_the_id_is_not_taken_for_this_run()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            await backend.SubmitAsync(RayTestSupport.Spec("same001", new Dictionary<string, object?> { ["value"] = 1L }), new TaskOptions(), default);
            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
                backend.SubmitAsync(RayTestSupport.Spec("same001", new Dictionary<string, object?> { ["value"] = 2L }), new TaskOptions(), default));
            Assert.Contains("different job", ex.Message);
            Assert.Equal(1, standIn.JobsCreated["same001"]);
        }

        [Fact]
        public async Task No_available_agent_is_retried_until_the_agent_is_up()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { NoAgentSubmits = 2 });
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            var output = await RunOneAsync(backend, "agent01");
            Assert.Equal(RunStatus.Completed, output.Status);
            Assert.Equal(3, standIn.SubmitPosts["agent01"]);
            AssertSubmittedOnce(standIn, "agent01");
        }

        [Fact]
        public async Task A_refused_submit_fails_with_the_servers_meaningful_line()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { RayVersion = "2.1.0" });
            using var backend = await RayTestSupport.ConnectAsync(standIn);
            // A field this server does not know, sent straight through the client: the 400 must read well.
            var client = backend.Client;
            var ex = await Assert.ThrowsAsync<RayApiException>(() => client.SubmitJobAsync("bad0001", System.Text.Encoding.UTF8.GetBytes("{\"entrypoint\":\"true\",\"submission_id\":\"bad0001\",\"entrypoint_memory\":1}"), default));
            Assert.Equal(400, ex.StatusCode);
            Assert.Equal("TypeError: JobSubmitRequest.__init__() got an unexpected keyword argument 'entrypoint_memory'", ex.ServerMessage);
            Assert.DoesNotContain("Traceback", ex.Message);
            Assert.Equal(1, standIn.CountRequests("POST", IsSubmit)); // a 400 is final: not retried
        }

        [Fact]
        public async Task A_dashboard_that_keeps_failing_fails_the_wait_after_the_tolerance()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            var fast = RayTestSupport.Fast(standIn.Address, maxRetries: 1);
            var options = new RayBackendOptions
            {
                Address = fast.Address, Environment = fast.Environment, RequestTimeout = fast.RequestTimeout, SubmitTimeout = fast.SubmitTimeout,
                PollIntervalMin = fast.PollIntervalMin, PollIntervalMax = fast.PollIntervalMax, RetryDelay = fast.RetryDelay, MaxRetries = 1,
                PollFailureTolerance = TimeSpan.FromMilliseconds(600),
            };
            using var backend = await RayTestSupport.ConnectAsync(standIn, options);
            var task = await backend.SubmitAsync(RayTestSupport.Spec("down001", new Dictionary<string, object?> { ["sleep"] = 30L }), new TaskOptions(), default);
            standIn.Faults.Random = _ => FaultKind.ServerError;
            var ex = await Assert.ThrowsAsync<RayConnectionException>(() => backend.GetAsync(task, new CancellationTokenSource(Generous).Token));
            Assert.Contains("no usable job status", ex.Message);
            Assert.Contains("injected fault", ex.Message); // the server's own line, not a traceback
            standIn.Faults.Random = null;
        }

        [Fact]
        public async Task The_token_is_sent_as_bearer_and_never_appears_in_any_error()
        {
            const string secret = "tok-9f8e7d6c5b4a-secret";
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { Token = secret, EchoAuthorizationInErrors = true });
            var errors = new List<Exception>();

            // Right token: works, and is sent as a bearer header on every request.
            using (var backend = await RayTestSupport.ConnectAsync(standIn, RayTestSupport.Fast(standIn.Address, token: secret)))
            {
                var output = await RunOneAsync(backend, "auth001");
                Assert.Equal(RunStatus.Completed, output.Status);
                Assert.All(standIn.Requests, r => Assert.Equal("Bearer " + secret, r.Authorization));

                // The server really echoes the token in error bodies (else this test could not fail).
                using (var raw = new System.Net.Http.HttpClient())
                {
                    raw.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", secret);
                    var notFound = await raw.GetAsync(standIn.Address + "/api/jobs/nojob00");
                    Assert.Equal(404, (int)notFound.StatusCode);
                    Assert.Contains(secret, await notFound.Content.ReadAsStringAsync());
                }

                // Errors met with the right token, each body echoing it: injected 500s, a missing job
                // (404), a refused delete of a running job (500), logs of a DRIVER job (400).
                standIn.Faults.Once("GET", p => p == "/api/version", FaultKind.ServerError);
                errors.Add(await Assert.ThrowsAnyAsync<Exception>(() => backend.Client.GetVersionAsync(TimeSpan.FromSeconds(2), default)));
                errors.Add(await Assert.ThrowsAnyAsync<Exception>(() => backend.GetAsync(new TaskRef("ray", "nojob01"), new CancellationTokenSource(Generous).Token)));
                errors.Add(await Assert.ThrowsAnyAsync<Exception>(() => backend.ReadLogAsync(new TaskRef("ray", "nojob02"), 5, default)));
                var running = await backend.SubmitAsync(RayTestSupport.Spec("auth002", new Dictionary<string, object?> { ["sleep"] = 30L }), new TaskOptions(), default);
                errors.Add(await Assert.ThrowsAsync<RayApiException>(() => backend.Client.DeleteJobAsync("auth002", default)));
                Assert.Equal(500, ((RayApiException)errors[^1]).StatusCode);
                errors.Add(await Assert.ThrowsAsync<RayApiException>(() => backend.ReadLogAsync(new TaskRef("ray", "01000000"), null, default)));
                Assert.Equal(400, ((RayApiException)errors[^1]).StatusCode);
                standIn.Faults.Once("GET", p => p == "/api/jobs/auth002", FaultKind.ServerError);
                standIn.Faults.Once("GET", p => p == "/api/jobs/auth002", FaultKind.ServerError);
                await backend.CancelAsync(running, default); // retried through two echoing 500s, and nothing leaks from that either
            }

            // No token: 401. A wrong token, echoed back by the server: 403, scrubbed.
            using (var none = new RayJobsBackend(RayTestSupport.Fast(standIn.Address)))
                errors.Add(await Assert.ThrowsAsync<RayApiException>(() => none.InitAsync(new ClusterOptions(), default)));
            Assert.Contains("401", errors[^1].Message);
            Assert.Contains("Missing authentication token", errors[^1].Message);

            const string wrong = "wrong-token-0a1b2c3d";
            using (var bad = new RayJobsBackend(RayTestSupport.Fast(standIn.Address, token: wrong)))
                errors.Add(await Assert.ThrowsAsync<RayApiException>(() => bad.InitAsync(new ClusterOptions(), default)));
            Assert.Contains("403", errors[^1].Message);
            Assert.DoesNotContain(wrong, errors[^1].Message);

            // Nothing answering, and a stall past the timeout, with the token set.
            using (var nowhere = new RayJobsBackend(RayTestSupport.Fast("http://127.0.0.1:9", token: secret)))
                errors.Add(await Assert.ThrowsAnyAsync<Exception>(() => nowhere.Client.GetVersionAsync(TimeSpan.FromSeconds(2), default)));
            standIn.Faults.StallFor = TimeSpan.FromSeconds(2);
            standIn.Faults.Once("GET", p => p == "/api/version", FaultKind.Stall);
            using (var slow = new RayJobsBackend(RayTestSupport.Fast(standIn.Address, token: secret)))
                errors.Add(await Assert.ThrowsAsync<RayConnectionException>(() => slow.Client.GetVersionAsync(TimeSpan.FromMilliseconds(300), default)));

            Assert.Equal(9, errors.Count);
            foreach (var error in errors)
                for (Exception? e = error; e != null; e = e.InnerException)
                {
                    Assert.DoesNotContain(secret, e.Message);
                    Assert.DoesNotContain(wrong, e.Message);
                    Assert.DoesNotContain(secret, e.ToString());
                }
        }
    }
}
