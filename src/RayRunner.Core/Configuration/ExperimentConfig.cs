using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;

namespace RayRunner.Core
{
    /// <summary>
    /// Turns whatever a caller passes as a config into the one shape RayRunner sends everywhere:
    /// nested <see cref="Dictionary{TKey,TValue}"/> (insertion order kept) of null, bool, long,
    /// double, string and <see cref="List{T}"/>. Anything else is rejected with the key path, so a
    /// stray object never reaches a command line or the run store half-serialized.
    /// </summary>
    public static class ExperimentConfig
    {
        /// <summary>Nesting deeper than this is almost certainly a cycle (a hashtable holding itself).</summary>
        public const int MaxDepth = 64;

        /// <param name="unwrap">
        /// For callers with wrapper types (the module passes PowerShell's PSObject unwrapper): applied
        /// to every value and key before it is looked at. Passed per call, never set process-wide, so
        /// hosts in one process cannot change each other's configs.
        /// </param>
        public static Dictionary<string, object?> Normalize(object? config, Func<object?, object?>? unwrap = null)
        {
            if (unwrap != null) config = unwrap(config);
            if (config is null)
                throw new ConfigValidationException("", "The config is null. Pass a map of settings, for example @{ lr = 0.01 }.");
            if (config is string json)
                return NormalizeJson(json);
            var value = NormalizeValue(config, "", 0, unwrap);
            if (value is Dictionary<string, object?> map) return map;
            throw new ConfigValidationException("", $"A config must be a map of settings, not a {Describe(config)}. Pass a hashtable, a dictionary or a JSON object.");
        }

        /// <summary>Reads a config written as a JSON object.</summary>
        public static Dictionary<string, object?> NormalizeJson(string json)
        {
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(json);
            }
            catch (JsonException ex)
            {
                throw new ConfigValidationException("", $"The config is not valid JSON ({ex.Message}). Pass a JSON object such as {{\"lr\": 0.01}}.");
            }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new ConfigValidationException("", $"A config in JSON must be an object such as {{\"lr\": 0.01}}, not {JsonKind(doc.RootElement.ValueKind)}.");
                return (Dictionary<string, object?>)FromJson(doc.RootElement, "")!;
            }
        }

        /// <summary>Converts parsed JSON into the normalized shape (used by the run store and the result parser too).</summary>
        public static object? FromJson(JsonElement element, string path)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Null:
                case JsonValueKind.Undefined:
                    return null;
                case JsonValueKind.True: return true;
                case JsonValueKind.False: return false;
                case JsonValueKind.String: return element.GetString();
                case JsonValueKind.Number:
                    if (element.TryGetInt64(out var l)) return l;
                    return element.GetDouble();
                case JsonValueKind.Array:
                    var list = new List<object?>();
                    var i = 0;
                    foreach (var item in element.EnumerateArray())
                        list.Add(FromJson(item, $"{path}[{i++}]"));
                    return list;
                case JsonValueKind.Object:
                    var map = new Dictionary<string, object?>(StringComparer.Ordinal);
                    foreach (var prop in element.EnumerateObject())
                    {
                        var childPath = Join(path, prop.Name);
                        CheckKey(prop.Name, path);
                        map[prop.Name] = FromJson(prop.Value, childPath);
                    }
                    return map;
                default:
                    throw new ConfigValidationException(path, $"Unsupported JSON value at '{path}'.");
            }
        }

        static object? NormalizeValue(object? value, string path, int depth, Func<object?, object?>? unwrap)
        {
            if (depth > MaxDepth)
                throw new ConfigValidationException(path, $"The config nests deeper than {MaxDepth} levels at '{path}'; does a map contain itself?");
            if (unwrap != null) value = unwrap(value);

            switch (value)
            {
                case null: return null;
                case string s: return s;
                case bool b: return b;
                case char c: return c.ToString();
                case byte or sbyte or short or ushort or int or uint or long:
                    return Convert.ToInt64(value, CultureInfo.InvariantCulture);
                case ulong ul:
                    if (ul > long.MaxValue) throw new ConfigValidationException(path, $"The number at '{path}' is too large ({ul}); use a value up to {long.MaxValue}.");
                    return (long)ul;
                case float f: return CheckFinite(f, path);
                case double d: return CheckFinite(d, path);
                case decimal m: return (double)m;
                case Enum e: return e.ToString();
                case JsonElement je: return FromJson(je, path);
                case IDictionary dict: return NormalizeMap(dict, path, depth, unwrap);
                case IEnumerable seq: return NormalizeList(seq, path, depth, unwrap);
                default:
                    throw new ConfigValidationException(path,
                        $"The config value at '{Display(path)}' is a {Describe(value)}, which RayRunner cannot send. Use numbers, strings, booleans, null, lists or nested maps.");
            }
        }

        static Dictionary<string, object?> NormalizeMap(IDictionary dict, string path, int depth, Func<object?, object?>? unwrap)
        {
            var map = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (DictionaryEntry entry in dict)
            {
                var rawKey = unwrap != null ? unwrap(entry.Key) : entry.Key;
                if (rawKey is not string key)
                    throw new ConfigValidationException(path, $"The map at '{Display(path)}' has a key of type {Describe(rawKey)}; config keys must be strings.");
                CheckKey(key, path);
                if (map.ContainsKey(key))
                    throw new ConfigValidationException(Join(path, key), $"The key '{Join(path, key)}' appears twice.");
                map[key] = NormalizeValue(entry.Value, Join(path, key), depth + 1, unwrap);
            }
            return map;
        }

        static List<object?> NormalizeList(IEnumerable seq, string path, int depth, Func<object?, object?>? unwrap)
        {
            var list = new List<object?>();
            var i = 0;
            foreach (var item in seq)
            {
                list.Add(NormalizeValue(item, $"{path}[{i}]", depth + 1, unwrap));
                i++;
            }
            return list;
        }

        static void CheckKey(string key, string parentPath)
        {
            // Keys become Hydra override paths (a.b=value) and shell-free arguments: a key with a
            // dot, '=' or blank would be read back as a different setting.
            if (key.Length == 0)
                throw new ConfigValidationException(parentPath, $"The map at '{Display(parentPath)}' has an empty key.");
            foreach (var ch in key)
            {
                if (ch == '.' || ch == '=' || ch == '[' || ch == ']' || char.IsWhiteSpace(ch) || char.IsControl(ch))
                    throw new ConfigValidationException(Join(parentPath, key),
                        $"The key '{key}' at '{Display(parentPath)}' contains '{(char.IsWhiteSpace(ch) ? "whitespace" : ch.ToString())}'. Keys may not contain dots, '=', brackets or whitespace; nest maps instead of dotted keys.");
            }
        }

        static double CheckFinite(double d, string path)
        {
            if (double.IsNaN(d) || double.IsInfinity(d))
                throw new ConfigValidationException(path, $"The number at '{Display(path)}' is {d.ToString(CultureInfo.InvariantCulture)}, which JSON cannot carry. Use a finite number or a string.");
            return d;
        }

        static string JsonKind(JsonValueKind kind) => kind switch
        {
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "null",
        };

        internal static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;
        static string Display(string path) => path.Length == 0 ? "(top level)" : path;
        static string Describe(object? value) => value == null ? "null" : value.GetType().FullName ?? value.GetType().Name;

        /// <summary>
        /// Copies a config without its <c>run_id</c> key: tmgg ignores a run id inside the config and
        /// always makes a fresh one, and so does RayRunner.
        /// </summary>
        public static Dictionary<string, object?> WithoutRunId(Dictionary<string, object?> config)
        {
            if (!config.ContainsKey("run_id")) return config;
            var copy = new Dictionary<string, object?>(config, StringComparer.Ordinal);
            copy.Remove("run_id");
            return copy;
        }
    }
}
