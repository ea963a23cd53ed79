using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// Ray's Jobs routes answer errors with text/plain, usually a Python traceback. This picks the
    /// line a person needs: the last exception line of a traceback ("ValueError: ..."), otherwise the
    /// first line that is not traceback scaffolding.
    /// </summary>
    internal static class RayErrorText
    {
        const int MaxLength = 500;
        const string TracebackHeader = "Traceback (most recent call last):";

        // "ValueError: ...", "ray.exceptions.RaySystemError: ...", "RuntimeError: Request failed ..."
        static readonly Regex ExceptionLine = new Regex(@"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Failure)\b:?", RegexOptions.CultureInvariant);
        static readonly Regex FrameLine = new Regex(@"^File ""[^""]*"", line \d+", RegexOptions.CultureInvariant);

        public static string Summarize(string? body)
        {
            if (string.IsNullOrWhiteSpace(body)) return "(no message in the response body)";
            var lines = body!.Replace("\r\n", "\n").Split('\n');
            var hasTraceback = body.IndexOf(TracebackHeader, StringComparison.Ordinal) >= 0;

            if (hasTraceback)
            {
                for (var i = lines.Length - 1; i >= 0; i--)
                {
                    var raw = lines[i];
                    if (raw.Length == 0 || char.IsWhiteSpace(raw[0])) continue; // frames and code are indented
                    var line = raw.Trim();
                    if (ExceptionLine.IsMatch(line)) return Clip(StripNestedTraceback(line));
                }
            }

            foreach (var raw in lines)
            {
                var line = raw.Trim();
                if (line.Length == 0 || line == TracebackHeader || FrameLine.IsMatch(line)) continue;
                if (hasTraceback && raw.Length > 0 && char.IsWhiteSpace(raw[0])) continue;
                return Clip(line);
            }
            return "(no message in the response body)";
        }

        /// <summary>"RuntimeError: Request failed with status code 400: Traceback (most recent call last):" keeps only the part before the nested traceback.</summary>
        static string StripNestedTraceback(string line)
        {
            var at = line.IndexOf(TracebackHeader, StringComparison.Ordinal);
            return at > 0 ? line.Substring(0, at).TrimEnd(' ', ':', '.') : line;
        }

        static string Clip(string line) => line.Length <= MaxLength ? line : line.Substring(0, MaxLength) + "...";

        /// <summary>Removes a secret from text that may have come back from a server, before it reaches a message.</summary>
        public static string Scrub(string text, string? secret) =>
            string.IsNullOrEmpty(secret) || text.IndexOf(secret, StringComparison.Ordinal) < 0
                ? text
                : text.Replace(secret, "***");
    }
}
