using System.Collections.Generic;
using System.Text;

namespace RayRunner.Core
{
    /// <summary>
    /// Builds the one <c>ProcessStartInfo.Arguments</c> string that netstandard2.0 offers (it has no
    /// ArgumentList) so that the child receives exactly the intended argv. The one quoting of
    /// arguments in Core: the local backend's launcher and the <c>ray</c> CLI both use it.
    /// </summary>
    /// <remarks>
    /// Two parsers read this string and both follow the Microsoft C runtime rules: CommandLineToArgvW
    /// / the CRT on Windows, and .NET's own ParseArgumentsIntoList on Unix (which then calls execve
    /// with the resulting list, no shell involved). Under those rules every argument is wrapped in
    /// double quotes, so spaces, tabs and newlines stay inside it; a double quote becomes \"; and
    /// backslashes are literal except in a run directly before a double quote (including the closing
    /// one), where each must be doubled. Nothing else is special, so shell metacharacters such as
    /// $ ` ; | &amp; and ' pass through as plain text.
    /// </remarks>
    internal static class CommandLine
    {
        public static string Join(IEnumerable<string> args)
        {
            var sb = new StringBuilder();
            foreach (var arg in args)
            {
                if (sb.Length > 0) sb.Append(' ');
                AppendQuoted(sb, arg);
            }
            return sb.ToString();
        }

        public static string Quote(string arg)
        {
            var sb = new StringBuilder(arg.Length + 2);
            AppendQuoted(sb, arg);
            return sb.ToString();
        }

        /// <summary>The argument as it is when nothing in it needs quoting (for readable command lines in messages), else quoted.</summary>
        public static string QuoteIfNeeded(string arg) =>
            arg.Length > 0 && arg.IndexOfAny(NeedQuoting) < 0 ? arg : Quote(arg);

        static readonly char[] NeedQuoting = { ' ', '\t', '\n', '\v', '"', '\\', '\'' };

        static void AppendQuoted(StringBuilder sb, string arg)
        {
            sb.Append('"');
            var backslashes = 0;
            foreach (var ch in arg)
            {
                if (ch == '\\')
                {
                    backslashes++;
                    continue;
                }
                if (ch == '"')
                {
                    // 2n backslashes stand for n; one more makes the quote literal.
                    sb.Append('\\', backslashes * 2 + 1).Append('"');
                }
                else
                {
                    sb.Append('\\', backslashes).Append(ch);
                }
                backslashes = 0;
            }
            // Before the closing quote, backslashes must be doubled too.
            sb.Append('\\', backslashes * 2).Append('"');
        }
    }
}
