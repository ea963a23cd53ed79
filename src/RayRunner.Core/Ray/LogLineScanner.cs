using System;
using System.Collections.Generic;
using System.Text;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// Splits streamed log text into lines with bounded memory: a partial line is kept only up to
    /// <see cref="MaxLineChars"/>, so a multi-gigabyte log costs one line of memory, not its size.
    /// Keeps the last well-formed result line (<see cref="ResultLine"/>) and, when asked, a ring of
    /// the last N lines.
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

        /// <summary>The last complete, well-formed <c>RAYRUNNER_RESULT</c> line seen.</summary>
        public ReportedResult? LastResult { get; private set; }
        /// <summary>Why the last result line after <see cref="LastResult"/> was ignored (bad JSON), if one was.</summary>
        public string? Problem { get; private set; }
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
                var json = ResultLine.ExtractJson(line);
                if (json != null)
                {
                    var result = ResultLine.TryParseJson(json, out var problem);
                    if (result != null) LastResult = result;
                    Problem = problem;
                }
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
