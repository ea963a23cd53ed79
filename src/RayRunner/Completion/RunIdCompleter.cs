using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

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

        /// <summary>The session's runs; without a connection, the runs recorded in the store (as Get-RayRun lists them).</summary>
        internal static IReadOnlyList<RayRun> KnownRuns()
        {
            var catalog = ModuleSession.Current?.Runs;
            if (catalog != null) return catalog.List();
            try
            {
                var reader = Core.RunStoreReader.OpenExisting();
                return reader == null ? Array.Empty<RayRun>() : reader.ListRuns().Select(s => RayRun.FromSnapshot(s, tracked: false, tags: null)).ToList();
            }
            catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException)
            {
                return Array.Empty<RayRun>(); // completion offers nothing rather than failing the key press
            }
        }
    }
}
