using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;

namespace RayRunner.Core
{
    /// <summary>
    /// How much a run's command line and environment may hold where the run starts. A config
    /// travels in the run's arguments ({overrides}, {config_json}) and always, whole, in
    /// <c>RAYRUNNER_TASK_INPUT</c>; an operating system refuses a launch past its limits ("Argument
    /// list too long" on Linux). <see cref="Check"/> finds that out while the config is validated,
    /// before anything is recorded or started, and names the setting that is too large.
    /// </summary>
    public sealed class CommandLineLimits
    {
        CommandLineLimits(string where, int maxStringBytes, int maxTotalBytes, bool oneShellString, bool countsChars)
        {
            Where = where;
            MaxStringBytes = maxStringBytes;
            MaxTotalBytes = maxTotalBytes;
            OneShellString = oneShellString;
            CountsChars = countsChars;
        }

        /// <summary>For messages: "this machine", "a Ray cluster".</summary>
        public string Where { get; }
        /// <summary>The most one argument or one NAME=value environment entry may hold (with its terminator).</summary>
        public int MaxStringBytes { get; }
        /// <summary>The most all arguments and RAYRUNNER_TASK_INPUT may hold together.</summary>
        public int MaxTotalBytes { get; }
        /// <summary>The command reaches the machine as one shell string (Ray: <c>/bin/sh -c '...'</c>).</summary>
        public bool OneShellString { get; }
        /// <summary>Windows counts UTF-16 characters; Unix counts bytes.</summary>
        public bool CountsChars { get; }

        /// <summary>
        /// Linux: MAX_ARG_STRLEN (32 pages, 128 KiB) per argument or environment entry; the total
        /// (ARG_MAX, a quarter of the stack, 2 MiB by default) is shared with the inherited
        /// environment, so only half of it is counted on. macOS has no per-string limit but 1 MiB
        /// in all; the same 128 KiB per string keeps one rule for both. Windows: 32,767 characters
        /// for the whole command line and for one environment variable.
        /// </summary>
        public static CommandLineLimits ForThisMachine() =>
            RuntimeInformation.IsOSPlatform(OSPlatform.Windows)
                ? new CommandLineLimits("this machine", 32767, 32767, oneShellString: false, countsChars: true)
                : new CommandLineLimits("this machine", 128 * 1024, 1024 * 1024, oneShellString: false, countsChars: false);

        /// <summary>A Ray head (Linux) runs the entrypoint as one <c>/bin/sh -c</c> string: the whole command is one argument.</summary>
        public static CommandLineLimits ForRay() =>
            new CommandLineLimits("a Ray cluster", 128 * 1024, 1024 * 1024, oneShellString: true, countsChars: false);

        /// <summary>
        /// Throws a <see cref="ConfigValidationException"/> naming the largest setting when a run of
        /// this config and template could not be launched within these limits.
        /// </summary>
        public void Check(IReadOnlyDictionary<string, object?> config, EntrypointTemplate template)
        {
            if (config == null) throw new ArgumentNullException(nameof(config));
            if (template == null) throw new ArgumentNullException(nameof(template));
            // A run id of the usual length stands in for the one the run will get.
            var input = new TaskInput(config, "00000000");
            var environment = TaskSpec.EnvTaskInput + "=" + RayRunnerJson.Serialize(input);
            var args = template.Expand(input);

            var strings = new List<string> { environment };
            if (OneShellString) strings.Add(EntrypointTemplate.ToPosixShell(args));
            else strings.AddRange(args);

            var largest = strings.Max(Size);
            var total = strings.Sum(s => (long)Size(s));
            if (CountsChars && !OneShellString)
            {
                // Windows: the limit is on the whole command line (arguments quoted, blank-separated) and on each variable.
                var commandLine = args.Sum(a => (long)a.Length + 3);
                if (commandLine <= MaxTotalBytes && Size(environment) <= MaxStringBytes) return;
            }
            else if (largest <= MaxStringBytes && total <= MaxTotalBytes)
            {
                return;
            }
            throw TooLarge(config);
        }

        int Size(string s) => (CountsChars ? s.Length : Encoding.UTF8.GetByteCount(s)) + 1;

        ConfigValidationException TooLarge(IReadOnlyDictionary<string, object?> config)
        {
            var (path, size) = LargestSetting(config, "");
            var unit = CountsChars ? "characters" : "bytes";
            var limit = CountsChars ? $"{MaxStringBytes.ToString("N0", CultureInfo.InvariantCulture)} characters"
                : $"{(MaxStringBytes / 1024).ToString(CultureInfo.InvariantCulture)} KB";
            var named = path.Length == 0 ? "The config" : $"The value of '{path}' ({size.ToString("N0", CultureInfo.InvariantCulture)} {unit})";
            return new ConfigValidationException(path,
                $"{named} is too large to start a run with: a run's config travels on its command line and in the RAYRUNNER_TASK_INPUT " +
                $"environment variable, and {Where} allows at most {limit} in one argument or variable. " +
                "Write large data to a file and put the file's path in the config instead (for example @{ data_file = 'data/input.json' }); " +
                "the experiment then reads the file.",
                advice: $"Save the value of '{(path.Length == 0 ? "the config" : path)}' to a file and pass the file's path in the config.");
        }

        /// <summary>The leaf setting whose value is longest (its key path and length), for the message.</summary>
        static (string Path, int Size) LargestSetting(object? value, string path)
        {
            switch (value)
            {
                case IReadOnlyDictionary<string, object?> map:
                    var best = (Path: path, Size: 0);
                    foreach (var kv in map)
                    {
                        var child = LargestSetting(kv.Value, ExperimentConfig.Join(path, kv.Key));
                        if (child.Size > best.Size) best = child;
                    }
                    return best;
                case string s:
                    return (path, s.Length);
                case IEnumerable list:
                    // A list is one setting on the command line ({overrides} writes it as one value).
                    var length = 0;
                    foreach (var item in list) length += (item?.ToString()?.Length ?? 4) + 1;
                    return (path, length);
                default:
                    return (path, value?.ToString()?.Length ?? 4);
            }
        }
    }
}
