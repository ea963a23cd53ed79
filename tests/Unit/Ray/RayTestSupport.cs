using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Ray;
using RayRunner.Tests.Unit.Ray.StandIn;

namespace RayRunner.Tests.Unit.Ray
{
    /// <summary>Options and fixtures shared by the Ray tests: short timings, an isolated environment.</summary>
    internal static class RayTestSupport
    {
        public static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

        /// <summary>An environment reader over a dictionary: no token or address leaks in from the machine.</summary>
        public static Func<string, string?> Env(IDictionary<string, string>? values = null)
        {
            var copy = new Dictionary<string, string>(values ?? new Dictionary<string, string>(), StringComparer.Ordinal);
            if (!copy.ContainsKey("HOME")) copy["HOME"] = Path.Combine(Path.GetTempPath(), "rayrunner-nohome-" + Guid.NewGuid().ToString("N")[..8]);
            return name => copy.TryGetValue(name, out var v) ? v : null;
        }

        public static RayBackendOptions Fast(string address, Func<string, string?>? env = null, string? token = null,
            TimeSpan? requestTimeout = null, int maxRetries = 8) => new RayBackendOptions
        {
            Address = address,
            Token = token,
            Environment = env ?? Env(),
            RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(5),
            SubmitTimeout = requestTimeout ?? TimeSpan.FromSeconds(5),
            // The stand-in answers at once when the machine is idle; under a full suite on a shared
            // 2-core machine a 2 s probe timed out and the backend reported Ray as not installed.
            ProbeTimeout = TimeSpan.FromSeconds(15),
            PollIntervalMin = TimeSpan.FromMilliseconds(20),
            PollIntervalMax = TimeSpan.FromMilliseconds(200),
            RetryDelay = TimeSpan.FromMilliseconds(10),
            MaxRetries = maxRetries,
            TailIdleCutoff = TimeSpan.FromMilliseconds(500),
            LogReadTimeout = TimeSpan.FromSeconds(30),
            StartupTimeout = TimeSpan.FromSeconds(20),
            ShutdownTimeout = TimeSpan.FromSeconds(20),
        };

        public static string FakeExperiment => Path.Combine(RayCliStandInHost.FixtureDirectory, "fake_experiment.sh");

        /// <summary>The entrypoint template that runs the fixture experiment with the run's overrides.</summary>
        public static string Entrypoint => $"sh {FakeExperiment} {{overrides}}";

        public static TaskSpec Spec(string runId, IDictionary<string, object?>? config = null, string? workingDirectory = null, string? sweepId = null, string? template = null) =>
            new TaskSpec(new TaskInput(new Dictionary<string, object?>(config ?? new Dictionary<string, object?>()), runId), EntrypointTemplate.Parse(template ?? Entrypoint))
            {
                WorkingDirectory = workingDirectory,
                SweepId = sweepId,
            };

        public static TaskOptions SlotOptions(double cpus = 1) => new TaskOptions
        {
            NumCpus = cpus,
            Resources = new Dictionary<string, double> { ["experiment_slot"] = 1 },
        };

        /// <summary>A connected backend over a stand-in (InitAsync finds the dashboard, so nothing is started).</summary>
        public static async Task<RayJobsBackend> ConnectAsync(RayDashboardStandIn standIn, RayBackendOptions? options = null)
        {
            var backend = new RayJobsBackend(options ?? Fast(standIn.Address));
            await backend.InitAsync(new ClusterOptions(), default);
            return backend;
        }

        /// <summary>Asks again (every 20 ms) until the answer is <paramref name="good"/> or <paramref name="bound"/> passed; returns the last answer.</summary>
        public static async Task<T> EventuallyAsync<T>(Func<Task<T>> ask, Func<T, bool> good, TimeSpan bound)
        {
            var deadline = DateTime.UtcNow + bound;
            while (true)
            {
                var answer = await ask();
                if (good(answer) || DateTime.UtcNow > deadline) return answer;
                await Task.Delay(20);
            }
        }

        /// <summary>
        /// A new folder under the temp folder, removed when the test process exits: the tests that
        /// take one do not remove it themselves, and thousands were left behind in /tmp.
        /// </summary>
        public static string NewTempDir()
        {
            var dir = Path.Combine(Path.GetTempPath(), "rayrunner-test-" + Guid.NewGuid().ToString("N")[..10]);
            Directory.CreateDirectory(dir);
            lock (MadeDirs) MadeDirs.Add(dir);
            return dir;
        }

        static readonly List<string> MadeDirs = CleanedAtExit();

        static List<string> CleanedAtExit()
        {
            var dirs = new List<string>();
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                lock (dirs)
                    foreach (var dir in dirs)
                    {
                        try { Directory.Delete(dir, recursive: true); }
                        catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
                    }
            };
            return dirs;
        }
    }
}
