using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Runs when the module is imported: on Windows PowerShell 5.1, resolves the module's own
    /// dependencies from its folder. (Configs are unwrapped per call: see ExperimentCmdlet.)
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        static readonly string ModuleFolder = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? "";
        static bool _resolverInstalled;

        public void OnImport()
        {
            InstallDesktopResolver();
        }

        public void OnRemove(PSModuleInfo module)
        {
            // Stop watching this session's runs; they go on running on the backend and in the store.
            ModuleSession.DisposeCurrent();
        }

        /// <summary>
        /// .NET Framework has no binding redirects for a module: System.Text.Json 8 and System.Memory
        /// ask for different versions of System.Runtime.CompilerServices.Unsafe and friends. Answer
        /// such requests with the copy shipped next to the module, whatever version was asked for.
        /// PowerShell 7 resolves these from its own framework and never needs this.
        /// </summary>
        static void InstallDesktopResolver()
        {
            if (_resolverInstalled || !RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal)) return;
            _resolverInstalled = true;
            AppDomain.CurrentDomain.AssemblyResolve += (sender, args) =>
            {
                var name = new AssemblyName(args.Name).Name;
                if (string.IsNullOrEmpty(name)) return null;
                var candidate = Path.Combine(ModuleFolder, name + ".dll");
                return File.Exists(candidate) ? Assembly.LoadFrom(candidate) : null;
            };
        }
    }
}
