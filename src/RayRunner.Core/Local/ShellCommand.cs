using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// The command line for a run whose user opted into a shell (<see cref="TaskSpec.UseShell"/>):
    /// the entrypoint's own words stay as written, so pipes, redirections and variables work, while
    /// every value that came from a placeholder ({overrides}, {config_json}, {run_id}) is quoted so
    /// the shell reads it as plain text.
    /// </summary>
    internal static class ShellCommand
    {
        /// <summary>A /bin/sh command line.</summary>
        public static string ForPosix(TaskSpec spec) =>
            Build(spec, value => EntrypointTemplate.ToPosixShell(new[] { value }));

        /// <summary>
        /// A cmd.exe command line, or null with <paramref name="error"/> set when a value holds
        /// characters cmd.exe interprets even inside double quotes (% ! " and line breaks): there is
        /// no quoting that makes those safe, so the run is refused rather than exposed.
        /// </summary>
        public static string? ForCmd(TaskSpec spec, out string? error)
        {
            string? unsafeValue = null;
            var command = Build(spec, value =>
            {
                if (value.IndexOfAny(CmdUnsafe) >= 0) unsafeValue ??= value;
                return CommandLine.Quote(value);
            });
            error = unsafeValue == null ? null :
                $"A value for the command holds a character that cmd.exe would interpret even when quoted (% ! \" or a line break): {Shorten(unsafeValue)}. Run without the shell option (the default), which passes every value untouched.";
            return error == null ? command : null;
        }

        static readonly char[] CmdUnsafe = { '%', '!', '"', '\r', '\n', '\0' };

        static string Build(TaskSpec spec, System.Func<string, string> quoteValue)
        {
            var expanded = spec.Arguments();
            var words = SplitKeepingQuoteInfo(spec.Entrypoint.Text);
            var tokens = spec.Entrypoint.Tokens;
            // The template was split by EntrypointTemplate.Parse with the same rules; if that ever
            // changes and the two disagree, quote everything rather than guess.
            var consistent = words.Count == tokens.Count && words.Select(w => w.Text).SequenceEqual(tokens);
            var parts = new List<string>();
            var next = 0;
            for (var i = 0; i < tokens.Count; i++)
            {
                var token = tokens[i];
                var count = token == EntrypointTemplate.OverridesPlaceholder ? HydraOverrides.Flatten(spec.Input.Config).Count : 1;
                var literal = consistent && !words[i].WasQuoted && token.IndexOf('{') < 0 && token.IndexOf('}') < 0;
                for (var j = 0; j < count; j++)
                {
                    var value = expanded[next++];
                    parts.Add(literal ? value : quoteValue(value));
                }
            }
            return string.Join(" ", parts);
        }

        struct Word
        {
            public string Text;
            public bool WasQuoted;
        }

        /// <summary>EntrypointTemplate's splitting rules, remembering which words had quotes in them.</summary>
        static List<Word> SplitKeepingQuoteInfo(string template)
        {
            var words = new List<Word>();
            var current = new StringBuilder();
            bool inWord = false, quoted = false;
            char quote = '\0';
            foreach (var ch in template)
            {
                if (quote != '\0')
                {
                    if (ch == quote) quote = '\0';
                    else current.Append(ch);
                    continue;
                }
                if (ch == '"' || ch == '\'')
                {
                    quote = ch;
                    inWord = quoted = true;
                    continue;
                }
                if (char.IsWhiteSpace(ch))
                {
                    if (inWord) words.Add(new Word { Text = current.ToString(), WasQuoted = quoted });
                    current.Clear();
                    inWord = quoted = false;
                    continue;
                }
                current.Append(ch);
                inWord = true;
            }
            if (inWord) words.Add(new Word { Text = current.ToString(), WasQuoted = quoted });
            return words;
        }

        static string Shorten(string value) => value.Length <= 60 ? value : value.Substring(0, 57) + "...";
    }
}
