using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RayRunner.Core.Local
{
    /// <summary>What an experiment said about itself in a <c>RAYRUNNER_RESULT {json}</c> line.</summary>
    internal sealed class ReportedResult
    {
        /// <summary>Normalized (completed, failed, timeout, ...), or null when the line gave none or an unknown one.</summary>
        public string? Status { get; init; }
        public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
        public string? CheckpointUri { get; init; }
        public string? ErrorMessage { get; init; }
    }

    /// <summary>
    /// Finds and reads the experiment's result line (design.md's contract): a line starting with
    /// <c>RAYRUNNER_RESULT</c> (an optional ':' after it, as tmgg's <c>TMGG_RESULT:</c> had) and a JSON
    /// object. The last well-formed line wins; lines that are not JSON objects are ignored, so a
    /// half-written or garbled line cannot hide an earlier good one.
    /// </summary>
    internal static class ResultLine
    {
        public const string Marker = "RAYRUNNER_RESULT";

        /// <summary>Reads the log from the end and returns the last well-formed result line, or null.</summary>
        public static ReportedResult? FindLast(string logPath)
        {
            foreach (var line in LogFile.ReadLinesBackward(logPath))
            {
                var result = TryParse(line);
                if (result != null) return result;
            }
            return null;
        }

        public static ReportedResult? TryParse(string line)
        {
            var text = line.TrimStart();
            if (!text.StartsWith(Marker, StringComparison.Ordinal)) return null;
            text = text.Substring(Marker.Length);
            if (text.StartsWith(":", StringComparison.Ordinal)) text = text.Substring(1);
            else if (text.Length > 0 && !char.IsWhiteSpace(text[0])) return null; // RAYRUNNER_RESULTS... is another word
            text = text.Trim();
            if (!text.StartsWith("{", StringComparison.Ordinal)) return null;

            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(QuoteNonFiniteLiterals(text));
            }
            catch (JsonException)
            {
                return null;
            }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) return null;
                return new ReportedResult
                {
                    Status = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? RunStatus.Normalize(s.GetString()) : null,
                    Metrics = ReadMetrics(root),
                    CheckpointUri = StringOrNull(root, "checkpoint_uri") ?? StringOrNull(root, "checkpoint_path"),
                    ErrorMessage = StringOrNull(root, "error_message"),
                };
            }
        }

        static IReadOnlyDictionary<string, double> ReadMetrics(JsonElement root)
        {
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            if (!root.TryGetProperty("metrics", out var m) || m.ValueKind != JsonValueKind.Object) return metrics;
            foreach (var property in m.EnumerateObject())
            {
                var value = property.Value;
                if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number))
                    metrics[property.Name] = number;
                else if (value.ValueKind == JsonValueKind.String && TryParseNumber(value.GetString(), out number))
                    metrics[property.Name] = number;
                // Anything else (text, lists, nested objects) is not a metric: metrics are numbers.
            }
            return metrics;
        }

        static bool TryParseNumber(string? text, out double number)
        {
            switch (text)
            {
                case "NaN": case "nan": number = double.NaN; return true;
                case "Infinity": case "inf": number = double.PositiveInfinity; return true;
                case "-Infinity": case "-inf": number = double.NegativeInfinity; return true;
            }
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out number);
        }

        static string? StringOrNull(JsonElement root, string name) =>
            root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        /// <summary>
        /// Python's json.dumps writes NaN, Infinity and -Infinity bare (a diverged loss is common);
        /// they are not JSON, so outside strings they are turned into strings that ReadMetrics knows.
        /// </summary>
        internal static string QuoteNonFiniteLiterals(string json)
        {
            if (json.IndexOf("NaN", StringComparison.Ordinal) < 0 && json.IndexOf("Infinity", StringComparison.Ordinal) < 0) return json;
            var sb = new StringBuilder(json.Length + 8);
            var inString = false;
            for (var i = 0; i < json.Length; i++)
            {
                var ch = json[i];
                if (inString)
                {
                    sb.Append(ch);
                    if (ch == '\\' && i + 1 < json.Length) sb.Append(json[++i]);
                    else if (ch == '"') inString = false;
                    continue;
                }
                if (ch == '"')
                {
                    inString = true;
                    sb.Append(ch);
                    continue;
                }
                var word = Match(json, i, "-Infinity") ?? Match(json, i, "Infinity") ?? Match(json, i, "NaN");
                if (word != null)
                {
                    sb.Append('"').Append(word).Append('"');
                    i += word.Length - 1;
                    continue;
                }
                sb.Append(ch);
            }
            return sb.ToString();
        }

        static string? Match(string text, int at, string word) =>
            string.CompareOrdinal(text, at, word, 0, word.Length) == 0 ? word : null;
    }
}
