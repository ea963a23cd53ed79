using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// A list of gitwildmatch patterns (.gitignore syntax, as Ray's pathspec use reads them), matched
    /// against paths relative to the folder the list belongs to, '/'-separated. The last matching
    /// pattern wins, so "!keep.txt" after "*.txt" keeps keep.txt.
    /// </summary>
    internal sealed class GitWildMatch
    {
        readonly List<(Regex Regex, bool Negated, bool DirOnly)> _rules = new List<(Regex, bool, bool)>();

        public GitWildMatch(IEnumerable<string> patterns)
        {
            foreach (var raw in patterns) Add(raw);
        }

        public bool IsEmpty => _rules.Count == 0;

        void Add(string raw)
        {
            var p = raw.TrimEnd('\r', '\n');
            // Trailing spaces are dropped unless escaped.
            while (p.EndsWith(" ", StringComparison.Ordinal) && !p.EndsWith("\\ ", StringComparison.Ordinal)) p = p.Substring(0, p.Length - 1);
            if (p.Length == 0 || p.StartsWith("#", StringComparison.Ordinal)) return;
            var negated = false;
            if (p.StartsWith("!", StringComparison.Ordinal)) { negated = true; p = p.Substring(1); }
            else if (p.StartsWith("\\!", StringComparison.Ordinal) || p.StartsWith("\\#", StringComparison.Ordinal)) p = p.Substring(1);
            var dirOnly = p.EndsWith("/", StringComparison.Ordinal);
            p = p.TrimEnd('/');
            if (p.Length == 0) return;
            // A slash at the start or in the middle anchors the pattern to the list's folder.
            var anchored = p.IndexOf('/') >= 0;
            p = p.TrimStart('/');
            if (p.StartsWith("**/", StringComparison.Ordinal)) { anchored = false; p = p.Substring(3); }
            var body = Translate(p);
            var regex = new Regex((anchored ? "^" : "^(?:.*/)?") + body + "$", RegexOptions.CultureInvariant | RegexOptions.Singleline);
            _rules.Add((regex, negated, dirOnly));
        }

        static string Translate(string p)
        {
            var sb = new StringBuilder();
            for (var i = 0; i < p.Length; i++)
            {
                var c = p[i];
                if (c == '*')
                {
                    if (i + 1 < p.Length && p[i + 1] == '*')
                    {
                        var atStart = i == 0 || p[i - 1] == '/';
                        var atEnd = i + 2 == p.Length;
                        var slashAfter = i + 2 < p.Length && p[i + 2] == '/';
                        if (atStart && atEnd) { sb.Append(".*"); i++; continue; }          // "a/**": everything inside
                        if (atStart && slashAfter) { sb.Append("(?:.*/)?"); i += 2; continue; } // "a/**/b": zero or more folders
                    }
                    sb.Append("[^/]*");
                }
                else if (c == '?') sb.Append("[^/]");
                else if (c == '[')
                {
                    var end = p.IndexOf(']', i + 1);
                    if (end < 0) { sb.Append("\\["); continue; }
                    var cls = p.Substring(i + 1, end - i - 1);
                    if (cls.StartsWith("!", StringComparison.Ordinal)) cls = "^" + cls.Substring(1);
                    sb.Append('[').Append(cls.Replace("\\", "\\\\")).Append(']');
                    i = end;
                }
                else if (c == '\\' && i + 1 < p.Length) { sb.Append(Regex.Escape(p[i + 1].ToString())); i++; }
                else sb.Append(Regex.Escape(c.ToString()));
            }
            return sb.ToString();
        }

        /// <summary>
        /// Null when no pattern speaks about the path; else whether it is excluded. A directory that
        /// is excluded takes everything beneath it along (the walk does not enter it).
        /// </summary>
        public bool? Match(string relativePath, bool isDirectory)
        {
            bool? verdict = null;
            foreach (var (regex, negated, dirOnly) in _rules)
            {
                if (dirOnly && !isDirectory) continue;
                if (regex.IsMatch(relativePath)) verdict = !negated;
            }
            return verdict;
        }
    }
}
