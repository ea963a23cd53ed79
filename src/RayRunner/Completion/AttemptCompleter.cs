using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Tab completion for -Attempt: the attempt numbers of the run named by -RunId (each earlier
    /// attempt with how it ended and why it was retried, the current one with its status), so the
    /// key press offers the attempts there are instead of file names.
    /// </summary>
    public sealed class AttemptCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var runId = BoundRunId(fakeBoundParameters);
            if (runId == null) return Array.Empty<CompletionResult>();
            // The one run's record, not a listing of every run in the store for a key press.
            var run = RunIdCompleter.KnownRun(runId);
            if (run == null) return Array.Empty<CompletionResult>();
            var word = (wordToComplete ?? "").Trim('\'', '"');
            var attempts = run.PastAttempts
                .Select(a => (a.Attempt, Tip: $"{a.Result.Status}, retried on {a.RetriedOn}"))
                .Append((run.Attempt, Tip: $"{run.Status} (the current attempt)"));
            return attempts
                .Select(a => (Text: a.Attempt.ToString(CultureInfo.InvariantCulture), a.Tip))
                .Where(a => a.Text.StartsWith(word, StringComparison.Ordinal))
                .Select(a => new CompletionResult(a.Text, a.Text, CompletionResultType.ParameterValue, a.Tip))
                .ToList();
        }

        /// <summary>The one run id typed so far (-RunId or its aliases), or null when there is none or several.</summary>
        static string? BoundRunId(IDictionary bound)
        {
            foreach (var name in new[] { "RunId", "Id", "SubmissionId" })
            {
                if (!bound.Contains(name)) continue;
                var value = bound[name];
                if (value is string one) return one;
                if (value is IEnumerable many && !(value is string))
                {
                    var ids = many.Cast<object>().Select(o => o?.ToString()).ToList();
                    return ids.Count == 1 ? ids[0] : null;
                }
                return value?.ToString();
            }
            return null;
        }
    }
}
