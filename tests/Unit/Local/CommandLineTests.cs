using System.Collections.Generic;
using System.Text;
using RayRunner.Core;
using RayRunner.Core.Local;
using Xunit;

namespace RayRunner.Tests.Unit.Local
{
    public class CommandLineTests
    {
        public static IEnumerable<object[]> NastyArguments() => new[]
        {
            new object[] { new[] { "plain" } },
            new object[] { new[] { "" } },
            new object[] { new[] { "", "", "x" } },
            new object[] { new[] { "with space", "tab\there", "new\nline", "cr\r\nlf" } },
            new object[] { new[] { "\"", "\"\"", "a\"b", "\"quoted\"" } },
            new object[] { new[] { "\\", "\\\\", "trailing\\", "trailing\\\\", "c:\\path\\" } },
            new object[] { new[] { "\\\"", "\\\\\"", "a\\\\\"b\\", "x\\\"y" } },
            new object[] { new[] { "$(touch /tmp/pwned)", "`id`", "a;b", "a|b", "a&b", "a>b", "<in", "*", "?", "~", "'single'", "it's" } },
            new object[] { new[] { "%PATH%", "!x!", "^caret", "{braces}", "lr=0.1", "name='a b'" } },
            new object[] { new[] { "ünïcødé", "日本語", "emoji 🚀" } },
        };

        [Theory]
        [MemberData(nameof(NastyArguments))]
        public void Joined_arguments_parse_back_to_the_same_list(string[] args)
        {
            Assert.Equal(args, MsvcRules.Parse(CommandLine.Join(args)));
        }

        [Fact]
        public void Every_argument_is_wrapped_in_quotes_so_nothing_splits_it()
        {
            Assert.Equal("\"a b\" \"\" \"c\"", CommandLine.Join(new[] { "a b", "", "c" }));
            Assert.Equal("\"say \\\"hi\\\"\"", CommandLine.Quote("say \"hi\""));
            Assert.Equal("\"dir\\\\\"", CommandLine.Quote("dir\\"));
            Assert.Equal("\"a\\b\"", CommandLine.Quote("a\\b"));
        }

        [Fact]
        public void Posix_shell_line_keeps_the_entrypoint_words_and_quotes_every_value()
        {
            var spec = LocalTestBed.Spec("python train.py {overrides} '{config_json}' > out.txt", new Dictionary<string, object?> { ["x"] = "$(id); `id`" }, runId: "r1");
            var line = ShellCommand.ForPosix(spec);
            Assert.Equal("python train.py 'x='\\''$(id); `id`'\\''' '{\"x\":\"$(id); `id`\"}' > out.txt", line);
        }

        [Fact]
        public void Quoted_words_of_the_entrypoint_stay_quoted_for_the_shell()
        {
            var spec = LocalTestBed.Spec("echo \"a  b\" '*.txt' {run_id}", runId: "r1");
            Assert.Equal("echo 'a  b' '*.txt' 'r1'", ShellCommand.ForPosix(spec));
        }

        [Fact]
        public void Cmd_refuses_values_it_would_interpret_even_when_quoted()
        {
            var spec = LocalTestBed.Spec("python train.py {overrides}", new Dictionary<string, object?> { ["x"] = "100%PATH%" }, runId: "r1");
            Assert.Null(ShellCommand.ForCmd(spec, out var error));
            Assert.Contains("cmd.exe", error);
            Assert.Contains("without the shell option", error);

            var safe = LocalTestBed.Spec("python train.py {overrides}", new Dictionary<string, object?> { ["x"] = "a & b" }, runId: "r1");
            Assert.Equal("python train.py \"x='a & b'\"", ShellCommand.ForCmd(safe, out error));
            Assert.Null(error);
        }

        /// <summary>
        /// The rules of "Parsing C++ command-line arguments" (Microsoft docs), which the Windows C
        /// runtime and .NET's Unix Process both apply to an Arguments string, written out here
        /// independently of the code under test.
        /// </summary>
        static class MsvcRules
        {
            public static List<string> Parse(string line)
            {
                var args = new List<string>();
                var i = 0;
                while (true)
                {
                    while (i < line.Length && (line[i] == ' ' || line[i] == '\t')) i++;
                    if (i >= line.Length) return args;
                    var arg = new StringBuilder();
                    var quoted = false;
                    for (; i < line.Length; i++)
                    {
                        var c = line[i];
                        if (c == '\\')
                        {
                            var start = i;
                            while (i < line.Length && line[i] == '\\') i++;
                            var n = i - start;
                            if (i < line.Length && line[i] == '"')
                            {
                                arg.Append('\\', n / 2);
                                if (n % 2 == 1) arg.Append('"');
                                else i--; // the quote is a delimiter: handle it on the next turn
                            }
                            else
                            {
                                arg.Append('\\', n);
                                i--;
                            }
                            continue;
                        }
                        if (c == '"')
                        {
                            if (quoted && i + 1 < line.Length && line[i + 1] == '"')
                            {
                                arg.Append('"');
                                i++;
                            }
                            else quoted = !quoted;
                            continue;
                        }
                        if (!quoted && (c == ' ' || c == '\t')) break;
                        arg.Append(c);
                    }
                    args.Add(arg.ToString());
                }
            }
        }
    }
}
