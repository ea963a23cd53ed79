using System;
using System.Collections.Generic;
using System.Management.Automation;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// The -RunId input shared by the cmdlets that act on given runs: by value (strings), by
    /// property name from any object with a RunId, Id or SubmissionId (RayRun, ExperimentResult,
    /// Ray job listings), with tab completion of known ids.
    /// </summary>
    public abstract class RunTargetCmdlet : RayCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "SubmissionId")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(RunIdCompleter))]
        public string[] RunId { get; set; } = Array.Empty<string>();

        readonly List<string> _collected = new List<string>();
        readonly HashSet<string> _seen = new HashSet<string>(StringComparer.Ordinal);

        /// <summary>Ids given so far, each once, in input order.</summary>
        internal IReadOnlyList<string> CollectedRunIds => _collected;

        /// <summary>For cmdlets that work on all their input at once in EndProcessing.</summary>
        internal void CollectRunIds()
        {
            foreach (var id in RunId)
                if (_seen.Add(id)) _collected.Add(id);
        }
    }
}
