using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using RayRunner.Core;
using static RayRunner.Core.RunResources;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// What each run asks for beyond the connection's defaults: -NumCpus, -NumGpus, -Memory,
    /// -Resources and -RuntimeEnv. A config may carry its own under the key <c>_resources</c>, which
    /// wins. On the local backend -NumCpus and -NumGpus count against this machine's CPU and GPU
    /// slots and a runtime_env's env_vars are set for the run; -Memory, -Resources and the other
    /// runtime_env fields are Ray's and are ignored there.
    /// </summary>
    public abstract partial class ExperimentCmdlet
    {
        /// <summary>CPUs each run reserves (Ray's entrypoint_num_cpus); overrides Connect-RayCluster -NumCpusPerTask.</summary>
        [Parameter]
        [ValidateRange(0.0, 4096.0)]
        public double? NumCpus { get; set; }

        /// <summary>GPUs each run reserves (Ray's entrypoint_num_gpus); overrides Connect-RayCluster -NumGpusPerTask.</summary>
        [Parameter]
        [ValidateRange(0.0, 1024.0)]
        public double? NumGpus { get; set; }

        /// <summary>Bytes of memory each run reserves (Ray's entrypoint_memory, Ray 2.8+): 4GB in PowerShell is 4 GiB. Ignored on the local backend.</summary>
        [Parameter]
        [ValidateRange(0L, long.MaxValue)]
        public long? Memory { get; set; }

        /// <summary>Custom Ray resources each run reserves, e.g. @{ TPU = 1 } (Ray's entrypoint_resources). Ignored on the local backend.</summary>
        [Parameter]
        [ValidateNotNull]
        public Hashtable? Resources { get; set; }

        /// <summary>A Ray runtime_env (pip, conda, env_vars, py_modules, ...) as a hashtable or JSON text; working_dir comes from -WorkingDirectory. The local backend applies its env_vars only.</summary>
        [Parameter]
        [ValidateNotNull]
        public object? RuntimeEnv { get; set; }

        RunResources? _callResources;

        /// <summary>Reads the resource parameters once, before anything connects; a mistake is a terminating RunResourcesInvalid error.</summary>
        void CheckResources()
        {
            if (NumCpus == null && NumGpus == null && Memory == null && Resources == null && RuntimeEnv == null) return;
            Dictionary<string, double>? custom = null;
            if (Resources != null)
            {
                custom = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (DictionaryEntry entry in Resources)
                {
                    var name = entry.Key?.ToString();
                    var value = PSValues.Unwrap(entry.Value);
                    double amount;
                    try
                    {
                        amount = value is string ? double.NaN : Convert.ToDouble(value, CultureInfo.InvariantCulture);
                    }
                    catch (Exception ex) when (ex is InvalidCastException || ex is FormatException || ex is OverflowException)
                    {
                        amount = double.NaN;
                    }
                    if (string.IsNullOrWhiteSpace(name) || double.IsNaN(amount) || amount < 0)
                        Refuse($"-Resources takes resource names with amounts of 0 or more, such as @{{ TPU = 1 }}; '{name}' = '{value}' is not one.", Resources);
                    if (ReservedResourceProblem(name!, forConfig: false) is string problem)
                        Refuse("-Resources: " + problem, Resources);
                    custom[name!] = amount;
                }
            }
            string? runtimeEnv = null;
            if (RuntimeEnv != null)
            {
                try
                {
                    var value = PSValues.Unwrap(RuntimeEnv);
                    var json = value is string text ? text : RayRunnerJson.ValueToJson(ExperimentConfig.Normalize(value, PSValues.Unwrap));
                    runtimeEnv = RunResources.CheckRuntimeEnv(json);
                }
                catch (ArgumentException ex)
                {
                    Refuse("-RuntimeEnv: " + ex.Message, RuntimeEnv);
                }
            }
            _callResources = new RunResources { NumCpus = NumCpus, NumGpus = NumGpus, MemoryBytes = Memory, Resources = custom, RuntimeEnvJson = runtimeEnv };
        }

        void Refuse(string message, object? target) =>
            ThrowTerminatingError(ErrorMapper.Make(ErrorIds.RunResourcesInvalid, ErrorCategory.InvalidArgument, message, target));

        /// <summary>
        /// On the local backend: says in -Verbose which resource parameters it does not use, so nobody
        /// expects them to limit a run, and warns once per call about runtime_env fields it cannot
        /// apply (a user who asked for pip packages must know they are not installed here).
        /// </summary>
        void NoteIgnoredResources(string backend)
        {
            if (backend != Core.Local.LocalProcessBackend.BackendName) return;
            var ignored = new List<string>();
            if (Memory != null) ignored.Add("-Memory");
            if (Resources != null) ignored.Add("-Resources");
            if (ignored.Count > 0)
                WriteVerbose($"The local backend runs on this machine as it is: {string.Join(", ", ignored)} (and the same keys of a config's _resources) are Ray's and not used here; -NumCpus and -NumGpus count against this machine's slots.");
            var fields = new List<string>();
            foreach (var json in RuntimeEnvsOfCall())
                foreach (var field in RuntimeEnvReader.OtherThanEnvVars(json))
                    if (!fields.Contains(field)) fields.Add(field);
            if (fields.Count > 0)
                WriteWarning($"The local backend sets a runtime_env's env_vars for each run but does not apply its other fields ({string.Join(", ", fields)}): those are set up by Ray on a cluster. Install what the runs need on this machine, or connect to Ray (Connect-RayCluster -Backend Ray).");
        }

        /// <summary>The runtime_envs this call's runs carry: -RuntimeEnv and each config's own _resources.runtime_env.</summary>
        IEnumerable<string> RuntimeEnvsOfCall()
        {
            if (_callResources?.RuntimeEnvJson is string call) yield return call;
            foreach (var c in Configs)
                if (FromConfig(c.Normalized).Resources?.RuntimeEnvJson is string own) yield return own;
        }

        /// <summary>Checks a config's own <c>_resources</c> as it arrives, so a bad one is a ConfigInvalid before anything starts.</summary>
        static void CheckConfigResources(Dictionary<string, object?> config) => RunResources.FromConfig(config);
    }
}
