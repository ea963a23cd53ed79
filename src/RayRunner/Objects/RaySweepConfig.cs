using System.Collections.Specialized;
using System.Management.Automation;
using RayRunner.Core.Sweeps;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// One config of a sweep made by New-RaySweep (type name <c>RayRunner.SweepConfig</c>). Piped to
    /// Start-RayExperiment or Invoke-RayExperiment it is run as its <see cref="Config"/>; a sweep
    /// file's entrypoint and working directory ride along as properties those cmdlets bind by name.
    /// </summary>
    public sealed class RaySweepConfig
    {
        internal RaySweepConfig(SweepConfig source, string? sweepName)
        {
            Source = source;
            Index = source.Index;
            Label = source.Label;
            ConfigHash = source.ConfigHash;
            SweepName = sweepName;
            Config = PSValues.ToOrderedMap(source.Config);
            Parameters = new OrderedDictionary(System.StringComparer.OrdinalIgnoreCase);
            foreach (var p in source.Parameters) Parameters[p.Key] = PSValues.ToPowerShell(p.Value);
        }

        internal SweepConfig Source { get; }

        /// <summary>1-based position in the sweep's order.</summary>
        public int Index { get; }
        public string Label { get; }
        /// <summary>The runner's config hash: what -Resume matches runs by.</summary>
        public string ConfigHash { get; }
        /// <summary>The swept keys (dotted) and their values in this config.</summary>
        public OrderedDictionary Parameters { get; }
        /// <summary>The whole config that will run.</summary>
        public OrderedDictionary Config { get; }
        public string? SweepName { get; }

        public override string ToString() => Label;


        internal PSObject ToPSObject(string? entrypoint, string? workingDirectory, int? maxRetries = null, string[]? retryOn = null)
        {
            var pso = PSValues.WithTypeName(this, TypeNames.SweepConfig);
            // Only when the sweep file has them: a null Entrypoint would fail binding instead of asking for -Entrypoint.
            if (entrypoint != null) pso.Properties.Add(new PSNoteProperty("Entrypoint", entrypoint));
            if (workingDirectory != null) pso.Properties.Add(new PSNoteProperty("WorkingDirectory", workingDirectory));
            if (maxRetries != null) pso.Properties.Add(new PSNoteProperty("MaxRetries", maxRetries.Value));
            if (retryOn != null) pso.Properties.Add(new PSNoteProperty("RetryOn", retryOn));
            return pso;
        }
    }
}
