using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace RayRunner.Core
{
    /// <summary>What an experiment said about itself in a <c>RAYRUNNER_RESULT {json}</c> line.</summary>
    public sealed class ReportedResult
    {
        /// <summary>completed, failed, timeout or cancelled; null when the line gave none (or one RayRunner does not know).</summary>
        public string? Status { get; init; }
        public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
        /// <summary>
        /// Metrics the line gave as something other than a number ("loss": "low", a list): kept as
        /// text (JSON for lists and objects) so they are not lost, and named in <see cref="Problems"/>.
        /// </summary>
        public IReadOnlyDictionary<string, string> TextMetrics { get; init; } = new Dictionary<string, string>();
        public string? CheckpointUri { get; init; }
        public string? ErrorMessage { get; init; }
        /// <summary>What was ignored in the line and why (a metric that is not a number, an unknown status).</summary>
        public IReadOnlyList<string> Problems { get; init; } = Array.Empty<string>();
    }

    /// <summary>
    /// The experiment contract's result line (design.md), read the same way by every backend so a
    /// run means the same wherever it ran: a line that starts with <c>RAYRUNNER_RESULT</c>, then
    /// blank or ':' (tmgg's Slurm runner wrote <c>TMGG_RESULT:</c>), then a JSON object. Python's
    /// json.dumps writes a diverged loss as bare <c>NaN</c>/<c>Infinity</c>; those are accepted.
    /// Of several lines the last well-formed one wins, so a half-written or garbled last line
    /// cannot hide an earlier good one.
    /// </summary>
    public static class ResultLine
    {
        public const string Marker = "RAYRUNNER_RESULT";

        /// <summary>The JSON after the marker when <paramref name="line"/> is a result line, else null.</summary>
        public static string? ExtractJson(string line)
        {
            var text = line.Trim();
            if (!text.StartsWith(Marker, StringComparison.Ordinal)) return null;
            var rest = text.Substring(Marker.Length);
            // "RAYRUNNER_RESULTS ..." is another word, not the marker.
            if (rest.Length == 0 || !(rest[0] == ':' || char.IsWhiteSpace(rest[0]))) return null;
            rest = rest.TrimStart(':', ' ', '\t');
            return rest.StartsWith("{", StringComparison.Ordinal) ? rest : null;
        }

        /// <summary>The result a line reports, or null when it is not a well-formed result line.</summary>
        public static ReportedResult? TryParse(string line)
        {
            var json = ExtractJson(line);
            return json == null ? null : TryParseJson(json, out _);
        }

        /// <summary>Reads the JSON of a result line; null (and why, in <paramref name="problem"/>) when it is not a JSON object.</summary>
        public static ReportedResult? TryParseJson(string json, out string? problem)
        {
            problem = null;
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(QuoteNonFiniteLiterals(json));
            }
            catch (JsonException ex)
            {
                problem = $"the {Marker} line is not valid JSON ({ex.Message})";
                return null;
            }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    problem = $"the {Marker} line must hold a JSON object";
                    return null;
                }
                var problems = new List<string>();
                string? status = null;
                if (root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String)
                {
                    status = RunStatus.Normalize(s.GetString());
                    if (status == null || !RunStatus.IsTerminal(status))
                    {
                        problems.Add($"the status '{s.GetString()}' is not one of completed, failed, timeout");
                        status = null;
                    }
                }
                var text = new Dictionary<string, string>(StringComparer.Ordinal);
                return new ReportedResult
                {
                    Status = status,
                    Metrics = ReadMetrics(root, text, problems),
                    TextMetrics = text,
                    CheckpointUri = StringOrNull(root, "checkpoint_uri") ?? StringOrNull(root, "checkpoint_path"),
                    ErrorMessage = StringOrNull(root, "error_message"),
                    Problems = problems,
                };
            }
        }

        /// <summary>The last well-formed result among lines given newest first (a log read backwards).</summary>
        public static ReportedResult? LastIn(IEnumerable<string> linesNewestFirst) => Scan(linesNewestFirst).Result;

        /// <summary>
        /// The last well-formed result among lines given newest first, and what was wrong with a
        /// result line newer than it (a line cut short by a crash, bad JSON): a run whose last
        /// word was garbled must say so rather than pass as a clean run without metrics.
        /// </summary>
        public static ResultScan Scan(IEnumerable<string> linesNewestFirst)
        {
            string? problem = null;
            foreach (var line in linesNewestFirst)
            {
                var json = ExtractJson(line);
                if (json == null)
                {
                    // "RAYRUNNER_RESULT" with nothing usable after it is a result line gone wrong too.
                    if (problem == null && IsBareMarker(line)) problem = $"a {Marker} line holds no JSON object";
                    continue;
                }
                var result = TryParseJson(json, out var why);
                if (result != null) return new ResultScan(result, problem);
                problem ??= why;
            }
            return new ResultScan(null, problem);
        }

        static bool IsBareMarker(string line)
        {
            var text = line.Trim();
            if (!text.StartsWith(Marker, StringComparison.Ordinal)) return false;
            var rest = text.Substring(Marker.Length);
            return rest.Length == 0 || rest[0] == ':' || char.IsWhiteSpace(rest[0]);
        }

        static IReadOnlyDictionary<string, double> ReadMetrics(JsonElement root, Dictionary<string, string> text, List<string> problems)
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
                else if (value.ValueKind != JsonValueKind.Null)
                    text[property.Name] = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
            }
            // Metrics are numbers (they are sorted and compared); anything else is kept as text and named.
            if (text.Count > 0)
                problems.Add("metrics that are not numbers were kept as text: " +
                             string.Join(", ", text.Select(kv => $"{kv.Key}={kv.Value}")));
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

        /// <summary>Turns bare NaN, Infinity and -Infinity outside strings into strings that <see cref="ReadMetrics"/> knows.</summary>
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

    /// <summary>What <see cref="ResultLine.Scan"/> found in a log.</summary>
    public sealed class ResultScan
    {
        public ResultScan(ReportedResult? result, string? problem)
        {
            Result = result;
            Problem = problem;
        }

        /// <summary>The last well-formed result; null when there was none.</summary>
        public ReportedResult? Result { get; }

        /// <summary>Why a result line newer than <see cref="Result"/> was ignored; null when none was.</summary>
        public string? Problem { get; }
    }
}
