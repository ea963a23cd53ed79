using System;
using System.Collections;
using System.IO;
using System.Linq;
using RayRunner.Core;
using RayRunner.Tests.Unit.Local;
using Xunit;

namespace RayRunner.Tests.Unit.Module
{
    /// <summary>
    /// The module with no backend override: <c>Connect-RayCluster -Backend Local</c> builds the real
    /// local process backend, as a user's session does, and runs real processes.
    /// </summary>
    [Collection(ModuleCollection.Name)]
    public class RealLocalBackendTests : IDisposable
    {
        readonly string _work = Path.Combine(Path.GetTempPath(), "rayrunner-reallocal-" + Guid.NewGuid().ToString("N")[..10]);

        public RealLocalBackendTests() => Directory.CreateDirectory(_work);

        public void Dispose()
        {
            try { Directory.Delete(_work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        [UnixFact]
        public void BackendLocalRunsRealProcessesThroughTheRealBackendAndReadsTheirLogs()
        {
            // The experiment records its pid (so a real process is seen), prints five lines, then its result.
            var script = Path.Combine(_work, "experiment.sh");
            File.WriteAllText(script,
                "value=0\nfor a in \"$@\"; do case \"$a\" in value=*) value=\"${a#value=}\";; esac; done\n" +
                $"echo $$ >> '{_work}'/pids\n" +
                "for i in 1 2 3 4 5; do echo \"line $i of $RAYRUNNER_RUN_ID\"; done\n" +
                "echo \"RAYRUNNER_RESULT {\\\"metrics\\\": {\\\"value\\\": $value}}\"\n");
            using var host = new ModuleHost(realBackends: true);

            var started = host.Run(
                "Connect-RayCluster -Backend Local -MaxConcurrent 2 -NumCpusPerTask 0 -WarningAction SilentlyContinue | Out-Null; " +
                $"$runs = Start-RayExperiment -Config @{{value=3}}, @{{value=4}} -Entrypoint \"sh '{script}' {{overrides}}\" -SweepId real; " +
                "$runs | Wait-RayRun | Out-Null; $runs.RunId").AssertClean();
            var id = (string)started.Output[0].BaseObject;

            // The log comes from the run's own file, -Tail cut by the local backend.
            var whole = host.Run($"Get-RayRunLog -RunId {id}").AssertClean().Output.Select(p => p.ToString()).ToList();
            Assert.Contains($"line 1 of {id}", whole);
            var tail = host.Run($"Get-RayRunLog -RunId {id} -Tail 2").AssertClean().Output.Select(p => p.ToString()).ToList();
            Assert.Equal(whole.Skip(whole.Count - 2), tail);
            Assert.Equal($"line 5 of {id}", tail[0]);

            var o = host.Run("$runs | Receive-RayRun").AssertClean();
            Assert.Empty(host.ConnectSettings); // the factory's override was not used
            Assert.Empty(host.Backend.Submissions);
            Assert.Equal(new[] { RunStatus.Completed, RunStatus.Completed }, o.Output.Select(p => (string)p.Properties["Status"].Value));
            Assert.Equal(new[] { 3.0, 4.0 }, o.Output.Select(p => Convert.ToDouble(((IDictionary)p.Properties["Metrics"].Value)["value"])));
            var pids = File.ReadAllLines(Path.Combine(_work, "pids")).Select(int.Parse).ToList();
            Assert.Equal(2, pids.Distinct().Count());
            Assert.DoesNotContain(Environment.ProcessId, pids);

            var cluster = host.Run("Get-RayCluster").AssertClean();
            Assert.Equal("local", cluster.Output.Single().Properties["Backend"].Value);
            Assert.True(File.Exists(Path.Combine(host.StoreRoot, "runs", id, "output.log")), "the run's log sits in its store folder");
        }
    }
}
