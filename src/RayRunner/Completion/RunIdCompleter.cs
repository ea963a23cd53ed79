using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>Tab completion for -RunId: the runs this session knows (or, not connected, the run store records), newest first, with status and entrypoint as tooltip.</summary>
    public sealed class RunIdCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var word = (wordToComplete ?? "").Trim('\'', '"');
            var pattern = WildcardPattern.Get(word + "*", WildcardOptions.IgnoreCase);
            return KnownRuns()
                .Where(r => pattern.IsMatch(r.RunId))
                .OrderByDescending(r => r.Submitted)
                .Select(r => new CompletionResult(r.RunId, r.RunId, CompletionResultType.ParameterValue,
                    $"{r.Status}{(r.SweepId != null ? " · sweep " + r.SweepId : "")} · {r.Entrypoint}"))
                .ToList();
        }

        /// <summary>The session's runs through its read view: the runner's, or without a connection the run store's (as Get-RayRun lists them).</summary>
        internal static IReadOnlyList<RayRun> KnownRuns() =>
            FromView(view => view.ListRuns().Select(s => RayRun.FromSnapshot(s, tracked: view.IsTracked(s.RunId), s.Tags)).ToList())
            ?? (IReadOnlyList<RayRun>)Array.Empty<RayRun>();

        /// <summary>One run through the same view, read alone (its record only, not a listing of the store); null when nobody knows it.</summary>
        internal static RunSnapshot? KnownRun(string runId) => FromView<RunSnapshot>(view => view.GetRun(runId));

        /// <summary>Asks the session's read view; null when there is none or the store cannot be read (completion then offers nothing rather than failing the key press).</summary>
        static T? FromView<T>(Func<IRunView, T?> ask) where T : class
        {
            try
            {
                var view = (IRunView?)ModuleSession.Current?.Runner
                    ?? RunStoreReader.OpenExisting(HostSetup.StoreRootOf(HostSetup.ForCurrentRunspace()));
                return view == null ? null : ask(view);
            }
            catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException)
            {
                return null;
            }
        }
    }
}
