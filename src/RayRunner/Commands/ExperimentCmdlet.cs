using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// The input side shared by Start-RayExperiment and Invoke-RayExperiment: configs from
    /// parameters or the pipeline, checked one by one as they arrive, then submitted together.
    /// </summary>
    /// <remarks>
    /// Why submit in EndProcessing rather than per record: a piped list is one sweep, so it gets one
    /// sweep id, ids unique across it, submission in input order and one working-directory upload;
    /// and because every config is checked before anything is submitted, <c>-ErrorAction Stop</c>
    /// turns the first bad config into "nothing started" instead of a half-started sweep. Starting
    /// is non-blocking (runs beyond MaxConcurrent wait as queued), so nothing is gained by
    /// submitting earlier.
    /// </remarks>
    public abstract partial class ExperimentCmdlet : RayCmdlet
    {
        /// <summary>A hashtable, PSCustomObject, dictionary or JSON object text; one run each.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [AllowEmptyCollection]
        public object?[] Config { get; set; } = Array.Empty<object?>();

        /// <summary>The command, e.g. 'python train.py {overrides}'; placeholders {run_id}, {overrides}, {config_json}.</summary>
        /// <remarks>Also bound by property name: New-RaySweep -Path hands on its sweep file's entrypoint.</remarks>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Entrypoint { get; set; } = "";

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? WorkingDirectory { get; set; }

        /// <summary>Per-run limit in seconds; 0 means none.</summary>
        [Parameter]
        [ValidateRange(0, int.MaxValue)]
        public int TimeoutSeconds { get; set; } = 3600;

        [Parameter]
        [ValidateNotNull]
        public string[] Tag { get; set; } = Array.Empty<string>();

        [Parameter]
        [ValidateRunId("sweep id")]
        [ArgumentCompleter(typeof(SweepIdCompleter))]
        public string? SweepId { get; set; }

        /// <summary>Your own id for a single run (not for a sweep).</summary>
        [Parameter]
        [ValidateRunId("run id", RefuseAttemptIds = true)]
        public string? RunId { get; set; }

        /// <summary>
        /// How many times a run is tried again after its first attempt ends in one of -RetryOn (0,
        /// the default: once). Each attempt is its own submission (&lt;runid&gt;-a2, ...), recorded first.
        /// </summary>
        /// <remarks>Also bound by property name: a New-RaySweep sweep file's max_retries.</remarks>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateRange(0, RetryPolicy.MaxAllowedRetries)]
        public int MaxRetries { get; set; }

        /// <summary>Which ends are retried: failed, timeout, lost (a job the backend forgot). All three when left out.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateSet(RetryPolicy.OnFailed, RetryPolicy.OnTimeout, RetryPolicy.OnLost)]
        [ValidateNotNullOrEmpty]
        public string[]? RetryOn { get; set; }

        /// <summary>Run the expanded command through the platform shell (the local backend); off by default.</summary>
        [Parameter]
        public SwitchParameter UseShell { get; set; }

        /// <summary>
        /// Resume the sweep named by -SweepId, as tmgg's coordinator does: configs whose run completed
        /// are not run again (their completed run is returned in their place), runs still queued or
        /// running are followed, and only missing configs and failed, timed-out or cancelled ones run.
        /// </summary>
        [Parameter]
        public SwitchParameter Resume { get; set; }

        readonly List<PendingConfig> _configs = new List<PendingConfig>();
        int _seen;
        string? _workingDirectory;
        EntrypointTemplate? _template;

        /// <summary>One valid config and where it stood in the input.</summary>
        internal sealed class PendingConfig
        {
            public PendingConfig(int index, Dictionary<string, object?> config, object? original)
            {
                Index = index;
                Normalized = config;
                Original = original;
            }

            public int Index { get; }
            public Dictionary<string, object?> Normalized { get; }
            public object? Original { get; }
            /// <summary>New-RaySweep's label, when the config came from it.</summary>
            public string? Label { get; init; }
        }

        internal IReadOnlyList<PendingConfig> Configs => _configs;

        protected override void BeginProcessing()
        {
            // Checked before anything connects: a resume that cannot name its sweep would start it afresh.
            if (Resume && SweepId == null)
                ThrowTerminatingError(ErrorMapper.Make(ErrorIds.ResumeNeedsSweepId, ErrorCategory.InvalidArgument,
                    "-Resume needs -SweepId: give the sweep id the sweep was started with (Get-RayRun shows it in the SweepId column).",
                    null, "... | Start-RayExperiment -Entrypoint <command> -SweepId <id> -Resume"));
            if (Resume && RunId != null)
                ThrowTerminatingError(ErrorMapper.Make(ErrorIds.ResumeWithRunId, ErrorCategory.InvalidArgument,
                    $"-Resume matches configs to the runs of a sweep and gives new runs new ids, so it cannot take -RunId '{RunId}'. Leave -RunId out.",
                    RunId));
            // Given on the command line they are checked now; bound from piped sweep configs, as they arrive.
            if (RetryOn != null && MaxRetries == 0)
                WriteWarning("-RetryOn has no effect without -MaxRetries: each run is tried once. Add -MaxRetries 2 (for example) to retry.");
            if (MyInvocation.BoundParameters.ContainsKey(nameof(Entrypoint))) CheckEntrypoint();
            if (WorkingDirectory != null) CheckWorkingDirectory();
            CheckResources();
        }

        string? _checkedEntrypoint;
        string? _checkedWorkingDirectory;

        void CheckEntrypoint()
        {
            if (_checkedEntrypoint == Entrypoint) return;
            if (_checkedEntrypoint != null)
                ThrowTerminatingError(ErrorMapper.Make(ErrorIds.EntrypointMismatch, ErrorCategory.InvalidArgument,
                    $"The piped configs carry different entrypoints ('{_checkedEntrypoint}' and '{Entrypoint}'); one call starts one sweep with one command. Start them in separate calls, or give -Entrypoint.",
                    Entrypoint));
            try
            {
                _template = EntrypointTemplate.Parse(Entrypoint);
            }
            catch (ArgumentException ex)
            {
                ThrowTerminatingError(ErrorMapper.From(ex, ErrorIds.EntrypointInvalid, Entrypoint));
            }
            _checkedEntrypoint = Entrypoint;
        }

        string? _checkedRetry;

        /// <summary>One call, one sweep, one retry policy: piped sweep configs must agree on it (a command-line value binds all).</summary>
        void CheckRetry()
        {
            var retry = MaxRetries + ":" + string.Join(",", RetryOn ?? Array.Empty<string>());
            if (_checkedRetry != null && _checkedRetry != retry)
                ThrowTerminatingError(ErrorMapper.Make(ErrorIds.EntrypointMismatch, ErrorCategory.InvalidArgument,
                    $"The piped configs carry different retries (max_retries, retry_on: '{_checkedRetry}' and '{retry}'); one call starts one sweep with one retry policy. Start them in separate calls, or give -MaxRetries and -RetryOn.",
                    retry));
            _checkedRetry = retry;
        }

        void CheckWorkingDirectory()
        {
            if (WorkingDirectory == null || _checkedWorkingDirectory == WorkingDirectory) return;
            // Relative to PowerShell's location, which is not the process's current directory.
            var full = GetUnresolvedProviderPathFromPSPath(WorkingDirectory);
            if (!System.IO.Directory.Exists(full))
                ThrowTerminatingError(ErrorMapper.Make(ErrorIds.WorkingDirectoryNotFound, ErrorCategory.ObjectNotFound,
                    $"The working directory '{full}' does not exist. Give an existing folder (relative paths are taken from the current location).",
                    WorkingDirectory));
            if (_workingDirectory != null && _workingDirectory != full)
                ThrowTerminatingError(ErrorMapper.Make(ErrorIds.EntrypointMismatch, ErrorCategory.InvalidArgument,
                    $"The piped configs carry different working directories ('{_workingDirectory}' and '{full}'); one call starts one sweep in one folder. Start them in separate calls, or give -WorkingDirectory.",
                    WorkingDirectory));
            _workingDirectory = full;
            _checkedWorkingDirectory = WorkingDirectory;
        }

        protected override void ProcessRecord()
        {
            CheckEntrypoint();
            CheckWorkingDirectory();
            CheckRetry();
            foreach (var item in Config ?? Array.Empty<object?>())
            {
                // Blank lines of a .jsonl file (Get-Content configs.jsonl | Start-RayExperiment) are not configs.
                if (PSValues.Unwrap(item) is string text && string.IsNullOrWhiteSpace(text))
                {
                    WriteVerbose("Skipped a blank line in the input: it holds no config.");
                    continue;
                }
                if (!Selected(item)) continue;
                var index = ++_seen;
                if (RunId != null && index > 1)
                    ThrowTerminatingError(ErrorMapper.Make(ErrorIds.RunIdWithSweep, ErrorCategory.InvalidArgument,
                        $"-RunId '{RunId}' names a single run, but more than one config was given. Leave -RunId out for a sweep (each run gets its own id), or use -SweepId to name the sweep.",
                        RunId));
                try
                {
                    var value = PSValues.Unwrap(item);
                    // A New-RaySweep config runs as its Config; its label names it in -WhatIf and -Verbose.
                    var label = value is RaySweepConfig sweepConfig ? sweepConfig.Label : null;
                    if (value is RaySweepConfig sc) value = sc.Source.Config;
                    var config = ExperimentConfig.Normalize(value, PSValues.Unwrap);
                    // Too large for a command line: say so now, naming the setting, not at launch with E2BIG.
                    Limits().Check(config, _template!);
                    CheckConfigResources(config);
                    _configs.Add(new PendingConfig(index, config, item) { Label = label });
                }
                catch (ConfigValidationException ex)
                {
                    var located = new ConfigValidationException(ex.KeyPath, $"Config #{index}: {ex.Message}", ex.Advice);
                    WriteError(ErrorMapper.From(located, ErrorIds.ConfigInvalid, item));
                }
            }
        }

        /// <summary>The launch limits of where the runs will start: a Ray head when this session is on Ray, else this machine.</summary>
        static CommandLineLimits Limits() =>
            ModuleSession.Current?.Backend.Name == Core.Ray.RayJobsBackend.BackendName ? CommandLineLimits.ForRay() : CommandLineLimits.ForThisMachine();

        internal RunRequest Request(string? sweepId) => new RunRequest
        {
            Entrypoint = Entrypoint,
            WorkingDirectory = _workingDirectory,
            TimeoutSeconds = TimeoutSeconds,
            Tags = Tag,
            Resources = _callResources,
            SweepId = sweepId,
            RunId = RunId,
            UseShell = UseShell.IsPresent,
            Resume = Resume.IsPresent && !_freshRuns,
            Retry = RetryPolicy.Create(MaxRetries, RetryOn),
        };

        /// <summary>Says what a resume did with each config, as the runner's plan says: reused a completed run, followed one still going, or started a new one.</summary>
        void DescribeResume(IReadOnlyList<RaySpawnedTask> spawned)
        {
            for (var i = 0; i < spawned.Count && i < _configs.Count; i++)
            {
                var id = spawned[i].RunId;
                if (spawned[i].Resumed == ResumeStep.Reused)
                    WriteVerbose($"Config #{_configs[i].Index}: completed earlier in run {id}; not run again.");
                else if (spawned[i].Resumed == ResumeStep.Followed)
                    WriteVerbose($"Config #{_configs[i].Index}: run {id} is still going; following it instead of starting it again.");
            }
            int skipped = spawned.Count(s => s.Resumed == ResumeStep.Reused), followed = spawned.Count(s => s.Resumed == ResumeStep.Followed);
            WriteVerbose($"Resumed sweep {SweepId}: {skipped} config(s) already completed, {followed} still going, {spawned.Count - skipped - followed} started.");
        }

        /// <summary>
        /// Submits every valid config; returns the runs started, in input order. Per-run failures
        /// are written as errors; runs the backend took are never hidden by a later failure.
        /// </summary>
        IReadOnlyList<RaySpawnedTask> SubmitBatch(ClusterConnection connection)
        {
            if (_configs.Count == 0) return Array.Empty<RaySpawnedTask>();
            var runner = connection.Runner;
            var sweepId = SweepId ?? (_configs.Count > 1 ? RunIds.New() : null);
            // A local run starts where the user is: PowerShell's location, which is not the process's
            // current directory, so 'python train.py' finds train.py after Set-Location. (On Ray a
            // working directory is uploaded, so only one given with -WorkingDirectory is.)
            if (_workingDirectory == null && connection.Backend.Name == Core.Local.LocalProcessBackend.BackendName)
                _workingDirectory = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
            var request = Request(sweepId);
            NoteIgnoredResources(connection.Backend.Name);

            WriteVerbose($"Sending {_configs.Count} run(s) to the {connection.Backend.Name} backend at {connection.Backend.Address}: " +
                         $"entrypoint '{Entrypoint}'" + (sweepId != null ? $", sweep {sweepId}" : "") +
                         (Resume ? " (resuming: completed configs are skipped)" : "") +
                         $", timeout {(TimeoutSeconds == 0 ? "none" : TimeoutSeconds + " s")}" +
                         (_workingDirectory != null ? $", working directory '{_workingDirectory}'" : "") + ".");
            foreach (var c in _configs)
                WriteVerbose($"Config #{c.Index}: {RayRunnerJson.ConfigToJson(c.Normalized)}");

            if (RunId != null)
            {
                if (connection.Runs.Find(RunId) != null)
                {
                    WriteError(ErrorMapper.Make(ErrorIds.RunIdInUse, ErrorCategory.ResourceExists,
                        $"A run with id '{RunId}' already exists. Choose another -RunId, or Remove-RayRun the old one first.", RunId));
                    return Array.Empty<RaySpawnedTask>();
                }
                try
                {
                    return new[] { Await(runner.SpawnExperimentAsync(_configs[0].Normalized, request, StopToken)) };
                }
                catch (PipelineStoppedException)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    WriteMappedError(ex, ErrorIds.SubmitFailed, _configs[0].Original);
                    return Array.Empty<RaySpawnedTask>();
                }
            }

            try
            {
                var spawned = Await(runner.SpawnSweepAsync(_configs.Select(c => (object)c.Normalized).ToList(), request, StopToken));
                if (Resume) DescribeResume(spawned);
                return spawned;
            }
            catch (PipelineStoppedException)
            {
                throw;
            }
            catch (SweepSpawnException ex)
            {
                WriteError(ErrorMapper.From(ex, ErrorIds.SubmitFailed, sweepId));
                return ex.Spawned;
            }
            catch (Exception ex)
            {
                var wrapped = new InvalidOperationException(
                    $"None of the {_configs.Count} run(s) started: {ex.Message}", ex);
                var (_, category) = ErrorMapper.Classify(ex, ErrorIds.SubmitFailed);
                var id = ex is ConfigValidationException || ex is RayNotInstalledException ? ErrorMapper.Classify(ex, ErrorIds.SubmitFailed).Id : ErrorIds.SubmitFailed;
                WriteError(new ErrorRecord(wrapped, id, category, sweepId));
                return Array.Empty<RaySpawnedTask>();
            }
        }
    }
}
