using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// The experiment contract's result line, <c>RAYRUNNER_RESULT {json}</c> (design.md): finds it
    /// in a stream of log text and turns its JSON into a <see cref="TaskOutput"/>. Kept in the Ray
    /// folder for now; the local backend has the same need, and the two can be unified later.
    /// </summary>
    public static class RayResultLineParser
    {
        public const string Marker = "RAYRUNNER_RESULT";

        /// <summary>The JSON after the marker when <paramref name="line"/> is a result line, else null.</summary>
        public static string? ExtractJson(string line)
        {
            var trimmed = line.Trim();
            if (!trimmed.StartsWith(Marker, StringComparison.Ordinal)) return null;
            var rest = trimmed.Substring(Marker.Length);
            if (rest.Length == 0 || !(rest[0] == ' ' || rest[0] == '\t' || rest[0] == ':')) return null;
            rest = rest.TrimStart(' ', '\t', ':');
            return rest.StartsWith("{", StringComparison.Ordinal) ? rest : null;
        }

        /// <summary>
        /// Reads the JSON of a result line. Unknown keys are ignored; a metric that is not a number
        /// is left out (named in <paramref name="problem"/>); JSON that does not parse gives null and
        /// the reason in <paramref name="problem"/>.
        /// </summary>
        public static TaskOutput? Parse(string json, string runId, out string? problem)
        {
            problem = null;
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(json);
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
                string? status = null;
                if (root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String)
                {
                    status = RunStatus.Normalize(s.GetString());
                    if (status == null || !RunStatus.IsTerminal(status))
                    {
                        problem = $"the {Marker} status '{s.GetString()}' is not one of completed, failed, timeout";
                        status = null;
                    }
                }
                var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
                var skipped = new List<string>();
                if (root.TryGetProperty("metrics", out var m) && m.ValueKind == JsonValueKind.Object)
                {
                    foreach (var p in m.EnumerateObject())
                    {
                        if (p.Value.ValueKind == JsonValueKind.Number) metrics[p.Name] = p.Value.GetDouble();
                        else if (p.Value.ValueKind == JsonValueKind.String && double.TryParse(p.Value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) metrics[p.Name] = d;
                        else skipped.Add(p.Name);
                    }
                }
                if (skipped.Count > 0)
                    problem = (problem == null ? "" : problem + "; ") + $"metrics that are not numbers were left out: {string.Join(", ", skipped)}";
                return new TaskOutput
                {
                    RunId = runId,
                    Status = status ?? RunStatus.Completed,
                    Metrics = metrics,
                    CheckpointUri = Str(root, "checkpoint_uri") ?? Str(root, "checkpoint_path"),
                    ErrorMessage = Str(root, "error_message"),
                };
            }
        }

        /// <summary>True when the line said a status of its own (so the job's status need not decide).</summary>
        internal static bool HasStatus(string json)
        {
            try
            {
                using var doc = JsonDocument.Parse(json);
                return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("status", out _);
            }
            catch (JsonException)
            {
                return false;
            }
        }

        static string? Str(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }

    /// <summary>
    /// Splits streamed log text into lines with bounded memory: a partial line is kept only up to
    /// <see cref="MaxLineChars"/>, so a multi-gigabyte log costs one line of memory, not its size.
    /// Keeps the last result line and, when asked, a ring of the last N lines.
    /// </summary>
    internal sealed class LogLineScanner
    {
        public const int MaxLineChars = 1024 * 1024;

        readonly StringBuilder _partial = new StringBuilder();
        readonly int _keepLines;
        readonly Queue<string> _tail;
        bool _overflow;

        public LogLineScanner(int keepLines = 0)
        {
            _keepLines = Math.Max(0, keepLines);
            _tail = new Queue<string>(Math.Min(_keepLines, 1024));
        }

        /// <summary>The JSON of the last complete <c>RAYRUNNER_RESULT</c> line seen.</summary>
        public string? LastResultJson { get; private set; }
        public long LineCount { get; private set; }

        public void Feed(string text)
        {
            var start = 0;
            while (start < text.Length)
            {
                var nl = text.IndexOf('\n', start);
                if (nl < 0)
                {
                    Append(text, start, text.Length - start);
                    return;
                }
                Append(text, start, nl - start);
                EndLine();
                start = nl + 1;
            }
        }

        /// <summary>The log ended: a last line without a newline still counts.</summary>
        public void Complete()
        {
            if (_partial.Length > 0 || _overflow) EndLine();
        }

        public string TailText()
        {
            var sb = new StringBuilder();
            foreach (var line in _tail) sb.Append(line).Append('\n');
            if (_partial.Length > 0) sb.Append(_partial);
            return sb.ToString();
        }

        void Append(string text, int start, int count)
        {
            if (_overflow) return;
            var room = MaxLineChars - _partial.Length;
            if (count > room)
            {
                _partial.Append(text, start, room);
                _overflow = true;
                return;
            }
            _partial.Append(text, start, count);
        }

        void EndLine()
        {
            var line = _partial.ToString().TrimEnd('\r');
            _partial.Clear();
            LineCount++;
            // A line cut at the cap is never taken for a result: its JSON would be incomplete.
            if (!_overflow)
            {
                var json = RayResultLineParser.ExtractJson(line);
                if (json != null) LastResultJson = json;
            }
            _overflow = false;
            if (_keepLines > 0)
            {
                if (_tail.Count == _keepLines) _tail.Dequeue();
                _tail.Enqueue(line);
            }
        }
    }
}
