using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using RayRunner.Core;
using RayRunner.Core.Sweeps;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// New-RaySweep: describes a sweep and writes its configs, ready for Start-RayExperiment and
    /// Invoke-RayExperiment. A grid (-Grid, with -Zip for paired lists), a seeded random search
    /// (-Random, -Seed) or a sweep file (-Path, YAML or JSON, tmgg's stage shape). Nothing runs: the
    /// configs it writes are the dry run (each with its label and config hash).
    /// A sweep that cannot be made (a missing or malformed file, a bad grid) is the one input of
    /// the call: it is a non-terminating error that writes no config at all, so -ErrorAction
    /// decides (SilentlyContinue hides it, Stop throws), as Get-Item does for a missing path.
    /// </summary>
    [Cmdlet(VerbsCommon.New, "RaySweep", DefaultParameterSetName = InlineSet)]
    [OutputType(typeof(RaySweepConfig))]
    public sealed class NewRaySweepCommand : PSCmdlet
    {
        const string InlineSet = "Inline";
        const string FileSet = "File";

        /// <summary>The config every generated config starts from.</summary>
        [Parameter(ParameterSetName = InlineSet, Position = 1)]
        public object? Base { get; set; }

        /// <summary>Key (dotted for nested settings) to a list of values, or to a range @{ low; high; distribution } for -Random.</summary>
        [Parameter(ParameterSetName = InlineSet, Position = 0)]
        public IDictionary? Grid { get; set; }

        /// <summary>Keys whose value lists are paired by position; one hashtable per group.</summary>
        [Parameter(ParameterSetName = InlineSet)]
        public IDictionary[]? Zip { get; set; }

        /// <summary>A sweep file (.yaml, .yml or .json).</summary>
        [Parameter(Mandatory = true, ParameterSetName = FileSet, Position = 0)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>Draw this many configs at random instead of the full grid.</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Random { get; set; }

        /// <summary>The seed of -Random: the same seed draws the same configs.</summary>
        [Parameter]
        public long Seed { get; set; }

        /// <summary>The label of each config, e.g. 'lr{lr:G2}-s{seed}'.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Label { get; set; }

        /// <summary>Refuse sweeps with more configs than this (default 10000).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int MaxConfigs { get; set; } = SweepDefinition.DefaultMaxConfigs;

        protected override void EndProcessing()
        {
            var sweep = ParameterSetName == FileSet ? FromFile() : FromParameters();
            if (sweep == null) return;
            if (MyInvocation.BoundParameters.ContainsKey(nameof(Random))) sweep.RandomSamples = Random;
            if (MyInvocation.BoundParameters.ContainsKey(nameof(Seed))) sweep.RandomSeed = Seed;
            if (Label != null) sweep.LabelTemplate = Label;
            if (MyInvocation.BoundParameters.ContainsKey(nameof(MaxConfigs)) || ParameterSetName == InlineSet) sweep.MaxConfigs = MaxConfigs;

            IReadOnlyList<SweepConfig> configs;
            try
            {
                configs = SweepExpander.Expand(sweep);
            }
            catch (SweepDefinitionException ex)
            {
                WriteError(SweepError(ex, ParameterSetName == FileSet ? Path : (object?)Grid));
                return;
            }
            WriteVerbose($"Sweep{(sweep.Name != null ? " " + sweep.Name : "")}: {configs.Count} config(s)" +
                         (sweep.RandomSamples is int n ? $", {n} random draw(s) with seed {sweep.RandomSeed}" : "") + ".");
            foreach (var config in configs)
                WriteObject(new RaySweepConfig(config, sweep.Name).ToPSObject(sweep.Entrypoint, sweep.WorkingDirectory, sweep.MaxRetries, sweep.RetryOn));
        }

        SweepDefinition? FromFile()
        {
            var full = GetUnresolvedProviderPathFromPSPath(Path);
            if (!File.Exists(full))
            {
                // A folder exists, so "does not exist" would send the user looking in the wrong place.
                var what = Directory.Exists(full) ? "is a folder, not a sweep file" : "does not exist";
                WriteError(ErrorMapper.Make(ErrorIds.SweepFileNotFound, ErrorCategory.ObjectNotFound,
                    $"The sweep file '{full}' {what}. Give the path of a .yaml or .json sweep file (relative paths are taken from the current location).", Path));
                return null;
            }
            try
            {
                return SweepFile.Read(full);
            }
            catch (SweepDefinitionException ex)
            {
                WriteError(SweepError(ex, Path));
                return null;
            }
        }

        SweepDefinition? FromParameters()
        {
            var sweep = new SweepDefinition();
            try
            {
                if (Base != null) sweep.Base = ExperimentConfig.Normalize(Base, PSValues.Unwrap);
                if (Grid != null)
                    foreach (var (key, value) in Entries(Grid, "-Grid"))
                        sweep.Space.Add(new KeyValuePair<string, ParameterDomain>(key, ParameterDomain.From(key, value)));
                foreach (var group in Zip ?? Array.Empty<IDictionary>())
                    sweep.Zip.Add(Entries(group, "-Zip").Select(e => new KeyValuePair<string, IReadOnlyList<object?>>(e.Key, e.Value as List<object?> ?? new List<object?> { e.Value })).ToList());
            }
            catch (ConfigValidationException ex)
            {
                WriteError(new ErrorRecord(new ArgumentException($"-Base: {ex.Message}", ex), ErrorIds.ConfigInvalid, ErrorCategory.InvalidArgument, Base));
                return null;
            }
            catch (SweepDefinitionException ex)
            {
                WriteError(SweepError(ex, Grid));
                return null;
            }
            return sweep;
        }

        /// <summary>
        /// A hashtable's entries as (dotted key, normalized value); a value that cannot be sent names
        /// its key. An [ordered] hashtable keeps the order written; a plain @{} has no order of its
        /// own, so its keys are taken alphabetically: the same sweep every time either way.
        /// </summary>
        static IEnumerable<(string Key, object? Value)> Entries(IDictionary map, string parameter)
        {
            var list = new List<(string, object?)>();
            var entries = map.Cast<DictionaryEntry>();
            if (map is Hashtable) entries = entries.OrderBy(e => PSValues.Unwrap(e.Key) as string ?? "", StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                if (PSValues.Unwrap(entry.Key) is not string key || key.Length == 0)
                    throw new SweepDefinitionException(SweepProblem.Invalid, $"{parameter} has a key that is not text ({entry.Key}). Keys are setting names such as lr or model.k.");
                object? value;
                try
                {
                    // Normalized through a one-key map so lists, numbers and nested maps take the config's shape.
                    value = ExperimentConfig.Normalize(new Hashtable { ["v"] = entry.Value }, PSValues.Unwrap)["v"];
                }
                catch (ConfigValidationException ex)
                {
                    throw new SweepDefinitionException(SweepProblem.Invalid, $"{parameter} '{key}': {ex.Message.Replace("'v", "'" + key)}", key);
                }
                list.Add((key, value));
            }
            return list;
        }

        internal static ErrorRecord SweepError(SweepDefinitionException ex, object? target)
        {
            var (id, category) = ex.Problem switch
            {
                SweepProblem.Empty => (ErrorIds.SweepEmpty, ErrorCategory.InvalidArgument),
                SweepProblem.UnknownKey => (ErrorIds.SweepUnknownKey, ErrorCategory.InvalidData),
                SweepProblem.ConflictingKeys => (ErrorIds.SweepKeyConflict, ErrorCategory.InvalidArgument),
                SweepProblem.TooLarge => (ErrorIds.SweepTooLarge, ErrorCategory.LimitsExceeded),
                _ => (ErrorIds.SweepInvalid, ErrorCategory.InvalidArgument),
            };
            return new ErrorRecord(ex, id, category, target);
        }
    }
}
