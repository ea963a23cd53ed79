using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Tab completion for -SweepId: the sweeps of the runs this session knows (or, not connected,
    /// of the run store's records), newest first, with how many runs each has and their statuses.
    /// </summary>
    public sealed class SweepIdCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var word = (wordToComplete ?? "").Trim('\'', '"');
            var pattern = WildcardPattern.Get(word + "*", WildcardOptions.IgnoreCase);
            return RunIdCompleter.KnownRuns()
                .Where(r => r.SweepId != null && pattern.IsMatch(r.SweepId))
                .GroupBy(r => r.SweepId!, StringComparer.Ordinal)
                .OrderByDescending(g => g.Max(r => r.Submitted))
                .Select(g => new CompletionResult(g.Key, g.Key, CompletionResultType.ParameterValue, Describe(g)))
                .ToList();
        }

        static string Describe(IGrouping<string, RayRun> sweep)
        {
            var statuses = sweep.GroupBy(r => r.Status).OrderByDescending(s => s.Count()).Select(s => $"{s.Count()} {s.Key}");
            return $"sweep {sweep.Key} · {sweep.Count()} run(s): {string.Join(", ", statuses)}";
        }
    }
}
