using System.Linq;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// The command line for a run whose user opted into a shell (<see cref="TaskSpec.UseShell"/>):
    /// the entrypoint's own words stay as written, so pipes, redirections and variables work, while
    /// every value that came from a placeholder ({overrides}, {config_json}, {run_id}) is quoted so
    /// the shell reads it as plain text.
    /// </summary>
    internal static class ShellCommand
    {
        /// <summary>A /bin/sh command line.</summary>
        public static string ForPosix(TaskSpec spec) =>
            Build(spec, value => EntrypointTemplate.ToPosixShell(new[] { value }));

        /// <summary>
        /// A cmd.exe command line, or null with <paramref name="error"/> set when a value holds
        /// characters cmd.exe interprets even inside double quotes (% ! " and line breaks): there is
        /// no quoting that makes those safe, so the run is refused rather than exposed.
        /// </summary>
        public static string? ForCmd(TaskSpec spec, out string? error)
        {
            string? unsafeValue = null;
            var command = Build(spec, value =>
            {
                if (value.IndexOfAny(CmdUnsafe) >= 0) unsafeValue ??= value;
                return CommandLine.Quote(value);
            });
            error = unsafeValue == null ? null :
                $"A value for the command holds a character that cmd.exe would interpret even when quoted (% ! \" or a line break): {Shorten(unsafeValue)}. Run without the shell option (the default), which passes every value untouched.";
            return error == null ? command : null;
        }

        static readonly char[] CmdUnsafe = { '%', '!', '"', '\r', '\n', '\0' };

        static string Build(TaskSpec spec, System.Func<string, string> quoteValue) =>
            string.Join(" ", spec.Entrypoint.ExpandWords(spec.Input)
                .SelectMany(word => word.IsLiteral ? word.Values : word.Values.Select(quoteValue)));

        static string Shorten(string value) => value.Length <= 60 ? value : value.Substring(0, 57) + "...";
    }
}
