using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Runtime.InteropServices;

namespace RayRunner.Samples.Quickstart
{
    /// <summary>
    /// Runs samples/quickstart.ps1 in an embedded PowerShell engine, so that a machine with only the
    /// .NET SDK (no pwsh) can run the main job with one command. Streams the script's output, host
    /// messages, warnings and errors to the console as they come; exits with 1 on any error.
    /// </summary>
    /// <remarks>
    /// Usage: dotnet run --project samples/Quickstart [-- [--script FILE] [--module PATH] [-Param value ...]]
    /// The module is, in order: --module, $RAYRUNNER_MODULE, then out/RayRunner/RayRunner.psd1 as the
    /// build staged it (the project reference builds the module first). Other arguments are passed
    /// to the script as its parameters.
    /// </remarks>
    public static class Program
    {
        public static int Main(string[] args)
        {
            string? script = null, module = null;
            var parameters = new List<KeyValuePair<string, object?>>();
            for (var i = 0; i < args.Length; i++)
            {
                var arg = args[i];
                if (arg == "--script" && i + 1 < args.Length) script = args[++i];
                else if (arg == "--module" && i + 1 < args.Length) module = args[++i];
                else if (arg == "--help" || arg == "-h" || arg == "-?")
                {
                    Console.WriteLine("Usage: dotnet run --project samples/Quickstart [-- [--script FILE] [--module PATH] [-Backend Local|Auto|Ray] [-MaxConcurrent N] [-Python PATH]]");
                    return 0;
                }
                else if (arg.StartsWith("-", StringComparison.Ordinal) && arg.Length > 1)
                {
                    // -Name value, or -Switch when no value follows.
                    var name = arg.TrimStart('-');
                    var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("-", StringComparison.Ordinal);
                    // "a,b,c" is a list, as it would be on a PowerShell command line.
                    object value = !hasValue ? true : args[i + 1].Contains(',') ? args[i + 1].Split(',') : args[i + 1];
                    if (hasValue) i++;
                    parameters.Add(new KeyValuePair<string, object?>(name, value));
                }
                else
                {
                    Console.Error.WriteLine($"Unexpected argument '{arg}'. Give script parameters as -Name value; see --help.");
                    return 2;
                }
            }

            script ??= FindScript();
            module ??= Environment.GetEnvironmentVariable("RAYRUNNER_MODULE") ?? FindModule();
            if (script == null)
            {
                Console.Error.WriteLine("quickstart.ps1 was not found. Run from the repository root, or pass --script <path>.");
                return 2;
            }
            if (module == null)
            {
                Console.Error.WriteLine($"The RayRunner module was not found next to {AppContext.BaseDirectory}. Build the repository, or pass --module <path to RayRunner.psd1 or RayRunner.dll>.");
                return 2;
            }
            return Run(Path.GetFullPath(script), Path.GetFullPath(module), parameters);
        }

        static int Run(string script, string module, IReadOnlyList<KeyValuePair<string, object?>> parameters)
        {
            var state = InitialSessionState.CreateDefault2();
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                state.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass; // this process only
            using var ps = System.Management.Automation.PowerShell.Create(state);
            var failed = false;

            ps.Streams.Error.DataAdded += (s, e) =>
            {
                failed = true;
                WriteError(((PSDataCollection<ErrorRecord>)s!)[e.Index]);
            };
            ps.Streams.Warning.DataAdded += (s, e) => WriteColored("WARNING: " + ((PSDataCollection<WarningRecord>)s!)[e.Index].Message, ConsoleColor.Yellow);
            ps.Streams.Information.DataAdded += (s, e) => Console.WriteLine(((PSDataCollection<InformationRecord>)s!)[e.Index].MessageData);
            if (Environment.GetEnvironmentVariable("RAYRUNNER_VERBOSE") == "1")
                ps.Streams.Verbose.DataAdded += (s, e) => WriteColored("VERBOSE: " + ((PSDataCollection<VerboseRecord>)s!)[e.Index].Message, ConsoleColor.DarkGray);

            // Ctrl+C stops the pipeline the way pwsh does (the cmdlets then cancel their waits).
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                ps.BeginStop(null, null);
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                ps.AddCommand("Import-Module").AddParameter("Name", module).AddParameter("ErrorAction", ActionPreference.Stop);
                ps.Invoke();
                if (failed) return 1;
                ps.Commands.Clear();

                var command = ps.AddCommand(script);
                foreach (var kv in parameters) command.AddParameter(kv.Key, kv.Value);
                var output = new PSDataCollection<PSObject>();
                output.DataAdded += (s, e) => Console.WriteLine(Render(((PSDataCollection<PSObject>)s!)[e.Index]));
                ps.Invoke<PSObject, PSObject>(null, output, new PSInvocationSettings());
                return failed || ps.HadErrors ? 1 : 0;
            }
            catch (PipelineStoppedException)
            {
                Console.Error.WriteLine("Stopped.");
                return 130;
            }
            catch (RuntimeException ex)
            {
                WriteError(ex.ErrorRecord);
                return 1;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        }

        static string Render(PSObject? item)
        {
            if (item == null) return "";
            return item.BaseObject is string text ? text : LanguagePrimitives.ConvertTo<string>(item);
        }

        static void WriteError(ErrorRecord record)
        {
            var position = record.InvocationInfo?.PositionMessage;
            WriteColored("ERROR: " + record + (string.IsNullOrEmpty(position) ? "" : Environment.NewLine + position), ConsoleColor.Red, Console.Error);
        }

        static void WriteColored(string text, ConsoleColor color, TextWriter? writer = null)
        {
            writer ??= Console.Out;
            var colored = !Console.IsOutputRedirected && !Console.IsErrorRedirected;
            if (colored) Console.ForegroundColor = color;
            writer.WriteLine(text);
            if (colored) Console.ResetColor();
        }

        static string? FindScript()
        {
            var fromBuild = SamplesDirectory();
            var candidates = new[]
            {
                fromBuild == null ? null : Path.Combine(fromBuild, "quickstart.ps1"),
                Path.Combine(Directory.GetCurrentDirectory(), "samples", "quickstart.ps1"),
                Path.Combine(Directory.GetCurrentDirectory(), "quickstart.ps1"),
            };
            return candidates.FirstOrDefault(c => c != null && File.Exists(c));
        }

        /// <summary>The samples folder this program was built from (recorded by the build).</summary>
        static string? SamplesDirectory() =>
            typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "SamplesDirectory")?.Value;

        static string? FindModule()
        {
            // The module as the build staged it: <repo>/out/RayRunner/RayRunner.psd1.
            var samples = SamplesDirectory();
            var staged = samples == null ? null : Path.Combine(samples, "..", "out", "RayRunner", "RayRunner.psd1");
            return staged != null && File.Exists(staged) ? Path.GetFullPath(staged) : null;
        }
    }
}
