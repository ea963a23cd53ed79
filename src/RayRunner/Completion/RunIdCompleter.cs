using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace RayRunner.PowerShell
{
    /// <summary>Tab completion for -RunId: the runs this session knows, newest first, with status and entrypoint as tooltip.</summary>
    public sealed class RunIdCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var catalog = ModuleSession.Current?.Runs;
            if (catalog == null) return Array.Empty<CompletionResult>();
            var word = (wordToComplete ?? "").Trim('\'', '"');
            var pattern = WildcardPattern.Get(word + "*", WildcardOptions.IgnoreCase);
            return catalog.List()
                .Where(r => pattern.IsMatch(r.RunId))
                .OrderByDescending(r => r.Submitted)
                .Select(r => new CompletionResult(r.RunId, r.RunId, CompletionResultType.ParameterValue,
                    $"{r.Status}{(r.SweepId != null ? " · sweep " + r.SweepId : "")} · {r.Entrypoint}"))
                .ToList();
        }
    }
}
