using System;
using System.Linq;
using System.Management.Automation;
using RayRunner.Core;
using Xunit;

namespace RayRunner.Tests.Unit.Module
{
    /// <summary>The session's connection, the stable error ids, and -ErrorAction.</summary>
    [Collection(ModuleCollection.Name)]
    public sealed class ConnectionAndErrorTests
    {
        const string Ep = "-Entrypoint 'python train.py {overrides}'";

        static string Id(ErrorRecord e) => e.FullyQualifiedErrorId.Split(',')[0];
        static ErrorRecord TerminatingRecord(Outcome o) => Assert.IsAssignableFrom<IContainsErrorRecord>(o.Terminating).ErrorRecord;

        /// <summary>
        /// Runs a command inside try/catch: only a terminating error is caught there (a per-item
        /// error is not), so this both asserts that the error terminates and returns it.
        /// </summary>
        static ErrorRecord Caught(ModuleHost host, string command)
        {
            var o = host.Run($"try {{ {command} ; 'not reached' }} catch {{ $_ }}");
            return Assert.IsType<ErrorRecord>(Assert.Single(o.Output).BaseObject);
        }

        [Fact]
        public void ConnectingTwiceWithMatchingSettingsReusesTheConnection()
        {
            using var host = new ModuleHost();
            var o = host.Run("Connect-RayCluster -Backend Local -MaxConcurrent 2; Connect-RayCluster -MaxConcurrent 2; Connect-RayCluster; Get-RayCluster").AssertClean();
            Assert.Single(host.ConnectSettings);
            Assert.Equal(BackendChoice.Local, host.ConnectSettings[0].Backend);
            Assert.Equal(2, host.ConnectSettings[0].MaxConcurrent);
            Assert.All(o.Output, p => Assert.Equal("RayRunner.RayCluster", p.TypeNames[0]));
            Assert.All(o.Output, p => Assert.Equal(2, p.Properties["MaxConcurrent"].Value));
            Assert.Single(host.Backend.InitCalls);
        }

        [Fact]
        public void DisconnectSaysWhetherItStoppedAClusterRayRunnerStarted()
        {
            using var host = new ModuleHost();
            host.Backend.StartedCluster = true;

            var cluster = host.Run("Connect-RayCluster -Backend Ray").AssertClean();
            var disconnect = host.Run("Disconnect-RayCluster").AssertClean();

            Assert.Equal(true, cluster.Prop(0, "StartedByRayRunner"));
            // Said without -Verbose, on the host's information stream: whether a cluster was stopped matters.
            Assert.Contains(disconnect.Information, v => v == "Stopped the fake cluster that RayRunner started.");
            Assert.Equal(1, host.Backend.ShutdownCalls);
        }

        [Fact]
        public void DifferentSettingsReplaceAnIdleConnectionButNotOneWithActiveRuns()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            host.Run("Connect-RayCluster -MaxConcurrent 2; Connect-RayCluster -MaxConcurrent 3").AssertClean();
            Assert.Equal(new[] { 2, 3 }, host.ConnectSettings.Select(s => s.MaxConcurrent));
            Assert.Equal(1, host.Backend.ShutdownCalls);

            host.Run($"Start-RayExperiment -Config @{{lr=1}} {Ep}").AssertClean();
            var record = Caught(host, "Connect-RayCluster -MaxConcurrent 5");
            Assert.Equal("ConnectionInUse", Id(record));
            Assert.Equal(ErrorCategory.ResourceBusy, record.CategoryInfo.Category);
            Assert.Equal(2, host.ConnectSettings.Count);
            Assert.Equal(1, host.Run("(Get-RayCluster).ActiveRuns").Output.Single().BaseObject);
        }

        [Fact]
        public void StartConnectsWithTheDefaultsWhenTheSessionHasNoConnection()
        {
            using var host = new ModuleHost();
            host.Run($"Start-RayExperiment -Config @{{lr=1}} {Ep}").AssertClean();
            var settings = Assert.Single(host.ConnectSettings);
            Assert.Equal(BackendChoice.Auto, settings.Backend);
            Assert.Equal(4, settings.MaxConcurrent);
        }

        [Fact]
        public void RunCmdletsWithoutAConnectionFailWithNotConnectedAndQueriesKnowNoRuns()
        {
            using var host = new ModuleHost();
            foreach (var command in new[] { "Stop-RayRun abc", "Remove-RayRun abc" })
            {
                var record = Caught(host, command);
                Assert.Equal("NotConnected", Id(record));
                Assert.Equal(ErrorCategory.ConnectionError, record.CategoryInfo.Category);
            }
            // Wait, Receive and Get-RayRunLog look in the run store first: an id it lacks is RunNotFound, and nothing connects.
            foreach (var command in new[] { "Wait-RayRun abc", "Receive-RayRun abc", "Get-RayRunLog abc" })
            {
                var o = host.Run(command);
                Assert.Null(o.Terminating);
                Assert.Equal("RunNotFound", Id(o.Errors.Single()));
            }
            Assert.Equal("unknown", host.Run("(Get-RayRunStatus abc).Status").AssertClean().Output.Single().ToString());
            Assert.Empty(host.Run("Get-RayRun; Get-RayCluster").AssertClean().Output);
            Assert.Empty(host.ConnectSettings); // a query never connects
        }

        [Fact]
        public void MissingRayIsTheRayNotInstalledErrorWithItsAdvice()
        {
            using var host = new ModuleHost();
            host.Backend.IsAvailable = false;
            var record = Caught(host, "Connect-RayCluster -Backend Ray");
            Assert.Equal("RayNotInstalled", Id(record));
            Assert.Equal(ErrorCategory.NotInstalled, record.CategoryInfo.Category);
            Assert.StartsWith("Ray is not installed", record.Exception.Message);
            Assert.Contains("-Backend Local", record.ErrorDetails.RecommendedAction);
            Assert.Empty(host.Run("Get-RayCluster").Output); // nothing half-made
        }

        [Fact]
        public void TheTokenReachesTheBackendAndIsNeverPrinted()
        {
            using var host = new ModuleHost();
            var o = host.Run(@"$s = [System.Security.SecureString]::new(); foreach ($c in 'sekrit-42'.ToCharArray()) { $s.AppendChar($c) }
                $c = Connect-RayCluster -Token $s -Verbose
                $c.PSObject.Properties | ForEach-Object { ""$($_.Name)=$($_.Value)"" }").AssertClean();
            Assert.Equal("sekrit-42", host.ConnectSettings.Single().Token);
            Assert.Contains(o.Verbose, v => v.Contains("with a token"));
            Assert.DoesNotContain(o.Verbose.Concat(o.Output.Select(p => p.ToString())), t => t.Contains("sekrit"));
            Assert.Contains("HasToken=True", o.Output.Select(p => p.ToString()));

            var plain = host.Run("Connect-RayCluster -Token 'other-token' -Verbose").AssertClean();
            Assert.Equal("other-token", host.ConnectSettings.Last().Token);
            Assert.DoesNotContain(plain.Verbose, v => v.Contains("other-token"));

            var bad = Caught(host, "Connect-RayCluster -Token 42");
            Assert.Equal("InvalidToken", Id(bad));
            Assert.DoesNotContain("42", bad.Exception.Message);
        }

        [Fact]
        public void DisconnectHonoursWhatIfAndShutsTheBackendDown()
        {
            using var host = new ModuleHost();
            host.Run("Connect-RayCluster; Disconnect-RayCluster -WhatIf").AssertClean();
            Assert.Equal(0, host.Backend.ShutdownCalls);
            Assert.Single(host.Run("Get-RayCluster").Output);

            var o = host.Run("Disconnect-RayCluster -PassThru; Get-RayCluster; Disconnect-RayCluster").AssertClean();
            Assert.Equal(1, host.Backend.ShutdownCalls);
            Assert.False((bool)o.Output.Single().Properties["IsConnected"].Value);
        }

        [Fact]
        public void ABadConfigIsAPerItemErrorWithItsKeyPathAndTheOthersStart()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            var o = host.Run($"@{{a=1}}, @{{ model = @{{ 'bad.key' = 1 }} }}, @{{b=2}} | Start-RayExperiment {Ep}");
            Assert.Null(o.Terminating);
            Assert.Equal(2, o.Output.Count);
            var error = o.Errors.Single();
            Assert.Equal("ConfigInvalid,RayRunner.PowerShell.StartRayExperimentCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Contains("Config #2", error.ToString());
            Assert.Contains("model.bad.key", error.ErrorDetails.Message);
            Assert.Contains("keys free of dots", error.ErrorDetails.RecommendedAction);
            Assert.Equal(2, host.Backend.Submissions.Count);
            Assert.Equal("ConfigInvalid,RayRunner.PowerShell.StartRayExperimentCommand", host.LastErrorId());
        }

        [Fact]
        public void ABadResourcesEntryAdvisesOnResourcesNotOnConfigKeys()
        {
            using var host = new ModuleHost();
            var o = host.Run($"@{{ lr = 1; _resources = @{{ num_cpu = 2 }} }}, @{{ lr = 2; _resources = 'lots' }} | Start-RayExperiment {Ep}");
            Assert.Null(o.Terminating);
            Assert.Equal(2, o.Errors.Count);
            foreach (var error in o.Errors)
            {
                Assert.Equal("ConfigInvalid,RayRunner.PowerShell.StartRayExperimentCommand", error.FullyQualifiedErrorId);
                Assert.Contains("_resources entry", error.ErrorDetails.RecommendedAction);
                Assert.Contains("-NumCpus", error.ErrorDetails.RecommendedAction);
                Assert.DoesNotContain("keys free of dots", error.ErrorDetails.RecommendedAction);
            }
            Assert.Empty(host.Backend.Submissions);
        }

        [Fact]
        public void ErrorActionStopOnABadConfigStartsNothing()
        {
            using var host = new ModuleHost();
            var o = host.Run($"@{{a=1}}, 'not json', @{{b=2}} | Start-RayExperiment {Ep} -ErrorAction Stop");
            Assert.Equal("ConfigInvalid", Id(TerminatingRecord(o)));
            Assert.Empty(host.Backend.Submissions);
        }

        [Fact]
        public void ErrorActionIsHonouredForRunErrors()
        {
            using var host = new ModuleHost();
            host.Run("Connect-RayCluster").AssertClean();
            var silent = host.Run("Stop-RayRun nope -ErrorAction SilentlyContinue; 'after'");
            Assert.Empty(silent.Errors);
            Assert.Equal("after", silent.Output.Single().ToString());
            Assert.Equal("RunNotFound,RayRunner.PowerShell.StopRayRunCommand", host.LastErrorId());

            var caught = host.Run("try { Receive-RayRun nope -ErrorAction Stop; 'not reached' } catch { $_.FullyQualifiedErrorId; $_.CategoryInfo.Category.ToString() }").AssertClean();
            Assert.Equal(new[] { "RunNotFound,RayRunner.PowerShell.ReceiveRayRunCommand", "ObjectNotFound" }, caught.Output.Select(p => p.ToString()));

            var exact = host.Run("Get-RayRun -RunId nope, also*");
            Assert.Equal("RunNotFound", Id(exact.Errors.Single()));
        }

        [Fact]
        public void PreconditionsAreTerminatingErrors()
        {
            using var host = new ModuleHost();
            Assert.Equal("RunIdWithSweep", Id(Caught(host, $"@{{a=1}}, @{{a=2}} | Start-RayExperiment {Ep} -RunId mine")));
            Assert.Equal("EntrypointInvalid", Id(Caught(host, "Start-RayExperiment -Config @{a=1} -Entrypoint 'python \"unclosed'")));
            Assert.Equal("EntrypointInvalid", Id(Caught(host, "Start-RayExperiment -Config @{a=1} -Entrypoint 'python t.py {nope}'")));
            Assert.Equal("WorkingDirectoryNotFound", Id(Caught(host, $"Start-RayExperiment -Config @{{a=1}} {Ep} -WorkingDirectory ./no/such/dir")));
            Assert.Empty(host.Backend.Submissions);
        }

        [Fact]
        public void BackendFailuresAreMappedNotRaw()
        {
            using var host = new ModuleHost();
            host.Backend.AutoComplete = null;
            host.Run($"$run = Start-RayExperiment -Config @{{lr=1}} {Ep}").AssertClean();

            host.Backend.CancelThrows = new System.Net.Http.HttpRequestException("connection refused");
            var stop = host.Run("$run | Stop-RayRun");
            Assert.Equal("StopFailed", Id(stop.Errors.Single()));
            Assert.Equal("running", host.Run("($run | Get-RayRunStatus).Status").Output.Single().ToString());

            host.Backend.SubmitThrows = new System.Net.Http.HttpRequestException("dashboard unreachable");
            var submit = host.Run($"@{{lr=2}}, @{{lr=3}} | Start-RayExperiment {Ep}");
            var error = submit.Errors.Single();
            Assert.Equal("SubmitFailed", Id(error));
            Assert.Equal(ErrorCategory.ConnectionError, error.CategoryInfo.Category);
            Assert.Contains("None of the 2 run(s) started", error.ToString());
            Assert.Empty(submit.Output);

            host.Backend.SubmitThrows = null;
            var twice = host.Run($"Start-RayExperiment -Config @{{lr=1}} {Ep} -RunId dup; Start-RayExperiment -Config @{{lr=1}} {Ep} -RunId dup");
            Assert.Single(twice.Output);
            var inUse = twice.Errors.Single();
            Assert.Equal("RunIdInUse", Id(inUse));
            Assert.Equal(ErrorCategory.ResourceExists, inUse.CategoryInfo.Category);
        }
    }
}
