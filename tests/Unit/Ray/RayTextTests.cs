using System.Collections.Generic;
using RayRunner.Core;
using RayRunner.Core.Ray;
using Xunit;

namespace RayRunner.Tests.Unit.Ray
{
    public class RayErrorTextTests
    {
        [Fact]
        public void A_traceback_is_summarized_by_its_last_exception_line()
        {
            var body = "Traceback (most recent call last):\n  File \"/ray/job_head.py\", line 380, in submit_job\n    resp = await x()\n" +
                       "RuntimeError: Request failed with status code 400: Traceback (most recent call last):\n  File \"/ray/job_agent.py\", line 45\n    y()\n" +
                       "ValueError: Job with submission_id abc already exists. Please use a different submission_id.\n";
            Assert.Equal("ValueError: Job with submission_id abc already exists. Please use a different submission_id.", RayErrorText.Summarize(body));
        }

        [Fact]
        public void A_plain_text_body_gives_its_first_line()
        {
            Assert.Equal("Forbidden: Invalid authentication token", RayErrorText.Summarize("\n  Forbidden: Invalid authentication token\nmore"));
            Assert.Equal("(no message in the response body)", RayErrorText.Summarize("  \n"));
        }

        [Fact]
        public void A_nested_traceback_on_the_same_line_is_cut_off()
        {
            var body = "Traceback (most recent call last):\n  File \"x\", line 1\nRuntimeError: Request failed with status code 500: Traceback (most recent call last):\n";
            Assert.Equal("RuntimeError: Request failed with status code 500", RayErrorText.Summarize(body));
        }
    }

    public class LogLineScannerTests
    {
        [Fact]
        public void The_last_result_line_wins_and_is_parsed()
        {
            var scanner = new LogLineScanner();
            scanner.Feed("hello\nRAYRUNNER_RESULT {\"metrics\": {\"a\": 1}}\nmid");
            scanner.Feed("dle\nRAYRUNNER_RESULT {\"status\": \"failed\", \"metrics\": {\"loss\": 0.25, \"acc\": \"0.5\", \"bad\": \"x\"}, \"checkpoint_uri\": \"s3://b/c\", \"error_message\": \"boom\"}\r\ntrailing");
            scanner.Complete();
            var output = scanner.LastResult!;
            Assert.Equal(RunStatus.Failed, output.Status);
            Assert.Equal(new Dictionary<string, double> { ["loss"] = 0.25, ["acc"] = 0.5 }, output.Metrics);
            Assert.Equal("s3://b/c", output.CheckpointUri);
            Assert.Equal("boom", output.ErrorMessage);
            Assert.Contains("bad=x", Assert.Single(output.Problems));
            Assert.Equal("x", output.TextMetrics["bad"]);
            Assert.Equal(5, scanner.LineCount);
        }

        [Fact]
        public void A_result_split_across_frames_mid_line_is_still_found()
        {
            var scanner = new LogLineScanner();
            foreach (var piece in new[] { "RAYRUN", "NER_RESULT {\"metr", "ics\": {\"x\": 2}}" }) scanner.Feed(piece);
            Assert.Null(scanner.LastResult); // no newline yet: the line may continue
            scanner.Complete();
            Assert.Equal(2.0, scanner.LastResult!.Metrics["x"]);
        }

        [Fact]
        public void A_garbled_last_line_is_reported_and_does_not_hide_an_earlier_good_one()
        {
            var scanner = new LogLineScanner();
            scanner.Feed("RAYRUNNER_RESULT {\"metrics\": {\"x\": 1}}\nRAYRUNNER_RESULT {not json\n");
            scanner.Complete();
            Assert.Equal(1.0, scanner.LastResult!.Metrics["x"]);
            Assert.Contains("not valid JSON", scanner.Problem);
            Assert.Null(ResultLine.ExtractJson("RAYRUNNER_RESULTS {\"a\":1}"));
            Assert.Null(ResultLine.ExtractJson("echo RAYRUNNER_RESULT {}"));
        }

        [Fact]
        public void An_overlong_line_is_capped_and_never_taken_for_a_result()
        {
            var scanner = new LogLineScanner(keepLines: 2);
            scanner.Feed("RAYRUNNER_RESULT {\"metrics\": {\"x\": 1}}\n");
            scanner.Feed("RAYRUNNER_RESULT {\"metrics\": {\"x\": 2}, \"pad\": \"" + new string('x', LogLineScanner.MaxLineChars + 10) + "\"}\n");
            scanner.Complete();
            Assert.Equal(1.0, scanner.LastResult!.Metrics["x"]);
            Assert.True(scanner.TailText().Length <= LogLineScanner.MaxLineChars + 100);
        }

        [Fact]
        public void The_tail_keeps_only_the_last_lines()
        {
            var scanner = new LogLineScanner(keepLines: 3);
            for (var i = 0; i < 1000; i++) scanner.Feed($"line {i}\n");
            Assert.Equal("line 997\nline 998\nline 999\n", scanner.TailText());
        }
    }

    public class RayAddressAndTokenTests
    {
        [Fact]
        public void The_address_comes_from_the_parameter_then_http_env_vars_then_the_default()
        {
            var none = RayTestSupport.Env();
            Assert.Equal("http://127.0.0.1:8265", RayJobsBackend.ResolveAddress(null, none));
            Assert.Equal("http://head:8265", RayJobsBackend.ResolveAddress("http://head:8265/", none));
            var both = RayTestSupport.Env(new Dictionary<string, string> { ["RAY_API_SERVER_ADDRESS"] = "https://api:443", ["RAY_ADDRESS"] = "http://other:8265" });
            Assert.Equal("https://api:443", RayJobsBackend.ResolveAddress(null, both));
            // A GCS address (not http) cannot be used without gRPC: it is skipped.
            var gcs = RayTestSupport.Env(new Dictionary<string, string> { ["RAY_ADDRESS"] = "10.0.0.1:6379" });
            Assert.Equal("http://127.0.0.1:8265", RayJobsBackend.ResolveAddress(null, gcs));
            var ex = Assert.Throws<System.ArgumentException>(() => RayJobsBackend.ResolveAddress("10.0.0.1:6379", none));
            Assert.Contains("dashboard URL", ex.Message);
        }

        [Fact]
        public void The_token_comes_from_the_parameter_env_token_path_then_home()
        {
            var dir = RayTestSupport.NewTempDir();
            var file = System.IO.Path.Combine(dir, "tok");
            System.IO.File.WriteAllText(file, "from-file\n");
            System.IO.Directory.CreateDirectory(System.IO.Path.Combine(dir, ".ray"));
            System.IO.File.WriteAllText(System.IO.Path.Combine(dir, ".ray", "auth_token"), "from-home");

            Assert.Equal("p", RayAuth.ResolveToken("p", RayTestSupport.Env(new Dictionary<string, string> { ["RAY_AUTH_TOKEN"] = "e" })));
            Assert.Equal("e", RayAuth.ResolveToken(null, RayTestSupport.Env(new Dictionary<string, string> { ["RAY_AUTH_TOKEN"] = "e", ["RAY_AUTH_TOKEN_PATH"] = file })));
            Assert.Equal("from-file", RayAuth.ResolveToken(null, RayTestSupport.Env(new Dictionary<string, string> { ["RAY_AUTH_TOKEN_PATH"] = file, ["HOME"] = dir })));
            Assert.Equal("from-home", RayAuth.ResolveToken(null, RayTestSupport.Env(new Dictionary<string, string> { ["HOME"] = dir })));
            Assert.Null(RayAuth.ResolveToken(null, RayTestSupport.Env()));

            System.IO.File.WriteAllText(file, "  ");
            var ex = Assert.Throws<System.InvalidOperationException>(() => RayAuth.ResolveToken(null, RayTestSupport.Env(new Dictionary<string, string> { ["RAY_AUTH_TOKEN_PATH"] = file })));
            Assert.Contains("empty", ex.Message);
        }

        [Fact]
        public void Options_and_backend_text_never_show_the_token()
        {
            var options = RayTestSupport.Fast("http://127.0.0.1:1", token: "s3cr3t-token-value");
            Assert.DoesNotContain("s3cr3t", options.ToString());
            using var backend = new RayJobsBackend(options);
            Assert.DoesNotContain("s3cr3t", backend.ToString());
        }

        [Fact]
        public void Browser_like_extra_headers_are_refused_up_front()
        {
            foreach (var header in new[] { "Origin", "referer", "Sec-Fetch-Mode" })
            {
                var ex = Assert.Throws<System.ArgumentException>(() => new RayJobsBackend(new RayBackendOptions
                {
                    Address = "http://127.0.0.1:1",
                    Environment = RayTestSupport.Env(),
                    Headers = new Dictionary<string, string> { [header] = "x" },
                }));
                Assert.Contains("405", ex.Message);
            }
            Assert.Throws<System.ArgumentException>(() => new RayJobsBackend(new RayBackendOptions
            {
                Address = "http://127.0.0.1:1",
                Environment = RayTestSupport.Env(),
                Headers = new Dictionary<string, string> { ["User-Agent"] = "Mozilla/5.0 (Windows NT; Windows NT 10.0) WindowsPowerShell/5.1" },
            }));
        }

        [Fact]
        public void Process_arguments_are_quoted_into_exactly_one_argv_element()
        {
            Assert.Equal("plain", RayCli.QuoteArgument("plain"));
            Assert.Equal("\"{\\\"experiment_slot\\\": 4}\"", RayCli.QuoteArgument("{\"experiment_slot\": 4}"));
            Assert.Equal("\"a b\\\\\"", RayCli.QuoteArgument("a b\\"));
            Assert.Equal("\"\"", RayCli.QuoteArgument(""));
        }

        [Fact]
        public void Cluster_resources_are_read_from_ray_status_text()
        {
            var text = "Resources\n---\nUsage:\n 1.0/8.0 CPU\n 0.0/4.0 experiment_slot\n 0B/2.33GiB memory\n 2.0/4.0 GPU (2.0 used of 4.0 reserved in placement groups)\n";
            var resources = RaySubmitRequest.ParseClusterResources(text);
            Assert.Equal(4.0, resources["experiment_slot"]);
            Assert.Equal(8.0, resources["CPU"]);
            Assert.Equal(4.0, resources["GPU"]);
            Assert.Empty(RaySubmitRequest.ParseClusterResources(null));
        }

        [Fact]
        public void Ray_versions_are_read_loosely_and_gate_request_fields()
        {
            Assert.Equal(new System.Version(2, 49, 1), RayVersionInfo.ParseLoose("2.49.1"));
            Assert.Equal(new System.Version(3, 0, 0), RayVersionInfo.ParseLoose("3.0.0.dev0"));
            Assert.Equal(new System.Version(2, 10, 0), RayVersionInfo.ParseLoose("2.10.0rc1"));
            Assert.False(new RayVersionInfo("3", "2.1.0").SupportsEntrypointResources);
            Assert.True(new RayVersionInfo("4", "2.2.0").SupportsEntrypointResources);
            Assert.False(new RayVersionInfo("3", "2.1.0").SupportsDelete);
        }
    }
}
