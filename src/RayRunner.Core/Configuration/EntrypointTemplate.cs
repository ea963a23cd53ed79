using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace RayRunner.Core
{
    /// <summary>
    /// An experiment's command line, e.g. <c>python train.py {overrides}</c>, split into arguments
    /// once and expanded per run into an argument list. Nothing here ever builds a shell string
    /// from config values; the Ray backend quotes each argument itself when Ray needs one string.
    /// </summary>
    /// <remarks>
    /// Placeholders: <c>{run_id}</c>, <c>{config_json}</c> (may stand inside an argument) and
    /// <c>{overrides}</c> (must be an argument of its own; it becomes one argument per setting).
    /// <c>{{</c> and <c>}}</c> are literal braces. Braces around anything that is not a word, such
    /// as JSON, are left as they are.
    /// </remarks>
    public sealed class EntrypointTemplate
    {
        public const string RunIdPlaceholder = "{run_id}";
        public const string OverridesPlaceholder = "{overrides}";
        public const string ConfigJsonPlaceholder = "{config_json}";

        readonly IReadOnlyList<string> _tokens;
        readonly IReadOnlyList<bool> _quoted;

        EntrypointTemplate(string text, IReadOnlyList<string> tokens, IReadOnlyList<bool> quoted)
        {
            Text = text;
            _tokens = tokens;
            _quoted = quoted;
        }

        public string Text { get; }
        public IReadOnlyList<string> Tokens => _tokens;

        public override string ToString() => Text;

        /// <summary>Splits the template into arguments: whitespace separates; "double" and 'single' quotes group.</summary>
        public static EntrypointTemplate Parse(string template)
        {
            if (string.IsNullOrWhiteSpace(template))
                throw new ArgumentException("The entrypoint is empty. Give the command to run, for example 'python train.py {overrides}'.", nameof(template));
            var tokens = new List<string>();
            var quoted = new List<bool>();
            var current = new StringBuilder();
            bool inToken = false, hadQuotes = false;
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
                    inToken = hadQuotes = true;
                    continue;
                }
                if (char.IsWhiteSpace(ch))
                {
                    if (inToken)
                    {
                        tokens.Add(current.ToString());
                        quoted.Add(hadQuotes);
                    }
                    current.Clear();
                    inToken = hadQuotes = false;
                    continue;
                }
                current.Append(ch);
                inToken = true;
            }
            if (quote != '\0')
                throw new ArgumentException($"The entrypoint '{template}' has an unclosed {quote} quote. Add the closing quote: quotes group one argument that holds blanks, as in 'python \"my train.py\" {{overrides}}'.", nameof(template));
            if (inToken)
            {
                tokens.Add(current.ToString());
                quoted.Add(hadQuotes);
            }

            foreach (var token in tokens) CheckPlaceholders(token, template);
            return new EntrypointTemplate(template, tokens, quoted);
        }

        /// <summary>The argument list for one run: argv[0] is the program.</summary>
        public IReadOnlyList<string> Expand(TaskInput input) => ExpandWords(input).SelectMany(w => w.Values).ToList();

        /// <summary>
        /// The run's arguments word by word, as the template wrote them: <c>{overrides}</c> gives one
        /// word with a value per setting. A word is <see cref="ExpandedWord.IsLiteral"/> when it is
        /// the template's own unquoted text with no placeholder, so an opted-in shell may read it as
        /// written (pipes, redirections) while every other value must be quoted for it.
        /// </summary>
        public IReadOnlyList<ExpandedWord> ExpandWords(TaskInput input)
        {
            var words = new List<ExpandedWord>(_tokens.Count);
            string? configJson = null;
            for (var i = 0; i < _tokens.Count; i++)
            {
                var token = _tokens[i];
                if (token == OverridesPlaceholder)
                {
                    words.Add(new ExpandedWord(HydraOverrides.Flatten(input.Config), isLiteral: false));
                    continue;
                }
                var value = Substitute(token, name => name switch
                {
                    "run_id" => input.RunId,
                    "config_json" => configJson ??= ConfigJson.ToJson(input.Config),
                    _ => throw new InvalidOperationException("unreachable: checked at parse time"),
                });
                var literal = !_quoted[i] && token.IndexOf('{') < 0 && token.IndexOf('}') < 0;
                words.Add(new ExpandedWord(new[] { value }, literal));
            }
            return words;
        }

        static void CheckPlaceholders(string token, string template)
        {
            Substitute(token, name =>
            {
                if (name == "overrides")
                    throw new ArgumentException($"In the entrypoint '{template}', {{overrides}} must be an argument of its own (it expands to one argument per setting).", nameof(template));
                if (name != "run_id" && name != "config_json")
                    throw new ArgumentException($"The entrypoint '{template}' uses the unknown placeholder {{{name}}}. Known placeholders: {{run_id}}, {{overrides}}, {{config_json}}. Write {{{{ and }}}} for literal braces.", nameof(template));
                return "";
            }, allowOverrides: token == OverridesPlaceholder);
        }

        /// <summary>Replaces {word} placeholders; {{ and }} are literal braces; other braces stay.</summary>
        static string Substitute(string token, Func<string, string> valueOf, bool allowOverrides = false)
        {
            if (allowOverrides) return token;
            var sb = new StringBuilder();
            for (var i = 0; i < token.Length; i++)
            {
                var ch = token[i];
                if ((ch == '{' || ch == '}') && i + 1 < token.Length && token[i + 1] == ch)
                {
                    sb.Append(ch);
                    i++;
                    continue;
                }
                if (ch == '{')
                {
                    var end = token.IndexOf('}', i + 1);
                    if (end > i + 1 && IsWord(token, i + 1, end))
                    {
                        sb.Append(valueOf(token.Substring(i + 1, end - i - 1)));
                        i = end;
                        continue;
                    }
                }
                sb.Append(ch);
            }
            return sb.ToString();
        }

        static bool IsWord(string s, int start, int end)
        {
            for (var i = start; i < end; i++)
                if (!(char.IsLetterOrDigit(s[i]) || s[i] == '_')) return false;
            return true;
        }

        /// <summary>
        /// Quotes an argument list for a POSIX shell (Ray runs entrypoints with /bin/sh -c): every
        /// argument in single quotes, so no config value is ever interpreted by the shell.
        /// </summary>
        public static string ToPosixShell(IReadOnlyList<string> args)
        {
            var sb = new StringBuilder();
            foreach (var arg in args)
            {
                if (sb.Length > 0) sb.Append(' ');
                sb.Append('\'').Append(arg.Replace("'", "'\\''")).Append('\'');
            }
            return sb.ToString();
        }
    }

    /// <summary>One word of an entrypoint template, expanded for a run.</summary>
    public sealed class ExpandedWord
    {
        public ExpandedWord(IReadOnlyList<string> values, bool isLiteral)
        {
            Values = values;
            IsLiteral = isLiteral;
        }

        /// <summary>The arguments this word became (several for {overrides}, else one).</summary>
        public IReadOnlyList<string> Values { get; }

        /// <summary>The template's own unquoted text, with no placeholder in it.</summary>
        public bool IsLiteral { get; }
    }
}
