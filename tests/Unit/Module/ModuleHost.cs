using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Tests.Unit.Fakes;
using Xunit;

namespace RayRunner.Tests.Unit.Module
{
    /// <summary>
    /// The tests that host the PowerShell engine. They share no process-wide state (each host passes
    /// its store and backend to its own runspaces through RunnerSetup), so they run alongside the
    /// other collections; within the collection they run one after another, as xUnit does.
    /// </summary>
    [CollectionDefinition(Name)]
    public sealed class ModuleCollection
    {
        public const string Name = "Hosted PowerShell module";
    }

    /// <summary>
    /// A fresh runspace with the staged module (out/RayRunner) imported as a user would, and a fresh
    /// fake backend put at the backend boundary through the session's RunnerSetup. One per test; the
    /// module's session state is per runspace, so closing it resets the module too.
    /// </summary>
    public sealed class ModuleHost : IDisposable
    {
        readonly Runspace _runspace;
        readonly InitialSessionState _sessionState;

        /// <param name="realBackends">
        /// True: no override; Connect-RayCluster builds the real backend a user gets (the fake stays
        /// unused and <see cref="ConnectSettings"/> empty).
        /// </param>
        public ModuleHost(FakeRayBackend? backend = null, bool realBackends = false)
        {
            // Each test gets a store of its own, as a fresh machine would, and its own fake backend:
            // both handed to the module's sessions, never through process-wide state.
            StoreRoot = Path.Combine(Path.GetTempPath(), "rayrunner-module-" + Guid.NewGuid().ToString("N"));
            Backend = backend ?? new FakeRayBackend();
            var setup = new RunnerSetup
            {
                StoreRoot = StoreRoot,
                // realBackends: Connect-RayCluster builds the real backend a user gets.
                BuildBackend = realBackends ? null : (settings, ct) =>
                {
                    lock (ConnectSettings) ConnectSettings.Add(settings);
                    return BackendOverride?.Invoke(settings, ct) ?? Task.FromResult<IRayBackend>(Backend);
                },
            };
            _sessionState = InitialSessionState.CreateDefault2();
            _sessionState.Variables.Add(new SessionStateVariableEntry("RayRunnerSetup", setup, "How this test host builds RayRunner's store and backend."));
            _sessionState.ImportPSModule(new[] { ManifestPath });
            _runspace = RunspaceFactory.CreateRunspace(_sessionState);
            _runspace.Open();
        }

        public FakeRayBackend Backend { get; }
        /// <summary>Builds another backend than the fake for this host's sessions (a real one over a stand-in); null for the fake.</summary>
        public Func<BackendSettings, CancellationToken, Task<IRayBackend>>? BackendOverride { get; set; }
        public string StoreRoot { get; }
        /// <summary>Every BackendSettings the module asked the factory for.</summary>
        public List<BackendSettings> ConnectSettings { get; } = new();

        public static string RepoRoot { get; } = FindRepoRoot();
        public static string StagedModule => Path.Combine(RepoRoot, "out", "RayRunner");
        public static string ManifestPath => Path.Combine(StagedModule, "RayRunner.psd1");

        static string FindRepoRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "RayRunner.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("RayRunner.sln not found above " + AppContext.BaseDirectory);
        }

        /// <summary>Runs a script in the session; errors stay in <see cref="Outcome.Errors"/> and in $Error.</summary>
        public Outcome Run(string script, IDictionary<string, object?>? variables = null) => Run(_runspace, script, variables);

        /// <summary>
        /// Runs a script in another session (a runspace of its own, with the same store and fake
        /// backend), then closes that session as a user closing a window would: its connection goes,
        /// its runs stay in the store, and runs it still held queued are let go (orphans).
        /// </summary>
        public Outcome RunInOtherSession(string script)
        {
            using var other = RunspaceFactory.CreateRunspace(_sessionState);
            other.Open();
            try
            {
                return Run(other, script, null);
            }
            finally
            {
                other.Close();
            }
        }

        static Outcome Run(Runspace runspace, string script, IDictionary<string, object?>? variables)
        {
            using var ps = PowerShell.Create();
            ps.Runspace = runspace;
            if (variables != null)
                foreach (var kv in variables) runspace.SessionStateProxy.SetVariable(kv.Key, kv.Value);
            ps.AddScript(script);
            Collection<PSObject> output;
            Exception? terminating = null;
            try
            {
                output = ps.Invoke();
            }
            catch (RuntimeException ex)
            {
                output = new Collection<PSObject>();
                terminating = ex;
            }
            return new Outcome(output.ToList(), ps.Streams.Error.ToList(), ps.Streams.Warning.Select(w => w.Message).ToList(),
                ps.Streams.Verbose.Select(v => v.Message).ToList(), ps.Streams.Progress.ToList(), terminating,
                ps.Streams.Information.Select(i => i.MessageData?.ToString() ?? "").ToList());
        }

        /// <summary>Starts a script without waiting, for tests that stop it (Ctrl+C) midway.</summary>
        public (PowerShell Shell, IAsyncResult Pending) Begin(string script)
        {
            var ps = PowerShell.Create();
            ps.Runspace = _runspace;
            ps.AddScript(script);
            return (ps, ps.BeginInvoke());
        }

        /// <summary>The FullyQualifiedErrorId of $Error[0], as a user would read it.</summary>
        public string? LastErrorId() => Run("$Error[0].FullyQualifiedErrorId").Output.SingleOrDefault()?.BaseObject as string;

        public void Dispose()
        {
            _runspace.Dispose();
            try { Directory.Delete(StoreRoot, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    public sealed record Outcome(
        List<PSObject> Output, List<ErrorRecord> Errors, List<string> Warnings, List<string> Verbose,
        List<ProgressRecord> Progress, Exception? Terminating, List<string> Information)
    {
        /// <summary>Fails with the errors' text when the script did not run cleanly.</summary>
        public Outcome AssertClean()
        {
            var problems = Errors.Select(e => e.FullyQualifiedErrorId + ": " + e).ToList();
            if (Terminating != null) problems.Add("terminating: " + Terminating);
            Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
            return this;
        }

        public T Base<T>(int index = 0) => (T)Output[index].BaseObject;
        public object? Prop(int index, string name) => Output[index].Properties[name]?.Value;
    }
}
