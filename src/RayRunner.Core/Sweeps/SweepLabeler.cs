using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace RayRunner.Core.Sweeps
{
    /// <summary>
    /// Names each config of a sweep. With a template ("{name}-{model}-lr{learning_rate}-s{seed}",
    /// a format after a colon: "{lr:G3}") the placeholders are the swept keys, any dotted key of the
    /// config, {name} and {index}; an unknown placeholder is refused up front. Without one, the
    /// label is "key=value ..." of the swept keys, each under its last name part unless two share it.
    /// </summary>
    internal sealed class SweepLabeler
    {
        readonly string? _name;
        readonly List<(bool IsText, string Text, string? Format)>? _template;
        readonly Dictionary<string, string> _shortNames;

        public SweepLabeler(SweepDefinition sweep, IReadOnlyList<string> sweptKeys)
        {
            _name = sweep.Name;
            if (sweep.LabelTemplate != null) _template = Parse(sweep.LabelTemplate);
            var lastParts = sweptKeys.GroupBy(k => k.Split('.').Last(), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            _shortNames = sweptKeys.ToDictionary(k => k, k => lastParts[k.Split('.').Last()] == 1 ? k.Split('.').Last() : k, StringComparer.Ordinal);
            if (_template != null)
            {
                foreach (var part in _template.Where(p => !p.IsText))
                {
                    if (part.Text == "name" || part.Text == "index" || sweptKeys.Contains(part.Text) || DottedKey.TryGet(sweep.Base, part.Text, out _)) continue;
                    throw new SweepDefinitionException(SweepProblem.Invalid,
                        $"The label template names '{{{part.Text}}}', which is neither a swept key, a key of the base config, {{name}} nor {{index}}. Swept keys: {string.Join(", ", sweptKeys)}.", part.Text);
                }
            }
        }

        public string Label(int index, IReadOnlyDictionary<string, object?> config, IReadOnlyList<KeyValuePair<string, object?>> parameters)
        {
            if (_template == null)
                return string.Join(" ", parameters.Select(p => _shortNames[p.Key] + "=" + SweepValues.Text(p.Value)));
            var sb = new StringBuilder();
            foreach (var (isText, text, format) in _template)
            {
                if (isText) sb.Append(text);
                else if (text == "index") sb.Append(SweepValues.Text((long)index, format));
                else if (text == "name" && !DottedKey.TryGet(config, "name", out _)) sb.Append(_name ?? "");
                else sb.Append(DottedKey.TryGet(config, text, out var value) ? SweepValues.Text(value, format) : "");
            }
            return sb.ToString();
        }

        static List<(bool, string, string?)> Parse(string template)
        {
            var parts = new List<(bool, string, string?)>();
            var i = 0;
            while (i < template.Length)
            {
                var open = template.IndexOf('{', i);
                if (open < 0)
                {
                    parts.Add((true, template.Substring(i), null));
                    break;
                }
                if (open > i) parts.Add((true, template.Substring(i, open - i), null));
                var close = template.IndexOf('}', open);
                if (close < 0)
                    throw new SweepDefinitionException(SweepProblem.Invalid, $"The label template '{template}' has a '{{' without its '}}'.");
                var inside = template.Substring(open + 1, close - open - 1);
                var colon = inside.IndexOf(':');
                var key = (colon < 0 ? inside : inside.Substring(0, colon)).Trim();
                if (key.Length == 0)
                    throw new SweepDefinitionException(SweepProblem.Invalid, $"The label template '{template}' has an empty placeholder '{{}}'.");
                parts.Add((false, key, colon < 0 ? null : inside.Substring(colon + 1)));
                i = close + 1;
            }
            return parts;
        }
    }
}
