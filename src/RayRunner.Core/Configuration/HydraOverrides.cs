using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace RayRunner.Core
{
    /// <summary>
    /// Flattens a config into Hydra-style override arguments, <c>a.b=value</c>, one argument each.
    /// Values are written in Hydra's override grammar so that Hydra reads back exactly what was
    /// sent: a string that Hydra would take for a number, a bool, null or a structure is quoted.
    /// </summary>
    public static class HydraOverrides
    {
        // Characters Hydra accepts in an unquoted primitive without giving them meaning.
        static readonly Regex PlainString = new Regex(@"^[A-Za-z_/\-+@%~:][A-Za-z0-9_/\-+.@%~:]*$", RegexOptions.CultureInvariant);
        static readonly Regex LooksNumeric = new Regex(@"^[+-]?(\d|\.\d|inf|nan)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

        public static IReadOnlyList<string> Flatten(IReadOnlyDictionary<string, object?> config)
        {
            var args = new List<string>();
            Flatten(config, "", args);
            return args;
        }

        static void Flatten(IReadOnlyDictionary<string, object?> map, string prefix, List<string> args)
        {
            foreach (var kv in map)
            {
                var key = ExperimentConfig.Join(prefix, kv.Key);
                if (kv.Value is IReadOnlyDictionary<string, object?> child && child.Count > 0)
                    Flatten(child, key, args);
                else
                    args.Add(key + "=" + FormatValue(kv.Value));
            }
        }

        public static string FormatValue(object? value)
        {
            switch (value)
            {
                case null: return "null";
                case bool b: return b ? "true" : "false";
                case long l: return l.ToString(CultureInfo.InvariantCulture);
                case int i: return i.ToString(CultureInfo.InvariantCulture);
                case double d: return FormatDouble(d);
                case string s: return FormatString(s);
                case IReadOnlyDictionary<string, object?> map:
                    var sb = new StringBuilder("{");
                    var first = true;
                    foreach (var kv in map)
                    {
                        if (!first) sb.Append(',');
                        first = false;
                        sb.Append(kv.Key).Append(':').Append(FormatValue(kv.Value));
                    }
                    return sb.Append('}').ToString();
                case IEnumerable<object?> list:
                    var lb = new StringBuilder("[");
                    var firstItem = true;
                    foreach (var item in list)
                    {
                        if (!firstItem) lb.Append(',');
                        firstItem = false;
                        lb.Append(FormatValue(item));
                    }
                    return lb.Append(']').ToString();
                default:
                    return FormatString(value.ToString() ?? "");
            }
        }

        static string FormatDouble(double d)
        {
            var text = d.ToString("R", CultureInfo.InvariantCulture);
            // Keep a float a float: Hydra reads "1" as int, "1.0" as float.
            if (text.IndexOf('.') < 0 && text.IndexOf('E') < 0) text += ".0";
            return text;
        }

        static string FormatString(string s)
        {
            var lower = s.ToLowerInvariant();
            var ambiguous = lower == "true" || lower == "false" || lower == "null" || LooksNumeric.IsMatch(s);
            if (!ambiguous && PlainString.IsMatch(s)) return s;
            // Quoted string: backslashes and the quote itself are escaped.
            return "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
        }
    }
}
