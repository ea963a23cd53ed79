using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace RayRunner.Core
{
    /// <summary>
    /// Turns what a caller asks for (a config and a <see cref="RunRequest"/>) or what the store
    /// recorded into a <see cref="TrackedRun"/>: id, task input, entrypoint, options and the spec
    /// the store records. Checks everything a run needs before anything starts.
    /// </summary>
    internal sealed class RunPreparer
    {
        readonly RunnerContext _ctx;

        public RunPreparer(RunnerContext ctx) => _ctx = ctx;

        /// <summary>
        /// One run of a sweep; a bad config names its place in the sweep. <paramref name="sweepIds"/>
        /// holds the ids already given to this sweep's runs: none of them is registered yet, so the
        /// table and the store alone cannot tell that an id is taken (a 20,000-run sweep drew the same
        /// 32-bit id twice about one time in twenty).
        /// </summary>
        public TrackedRun PrepareIndexed(object config, RunRequest request, int index, ISet<string> sweepIds)
        {
            try
            {
                var run = Prepare(config, request, runId: null, sweepIds);
                sweepIds.Add(run.RunId);
                return run;
            }
            catch (ConfigValidationException ex)
            {
                throw new ConfigValidationException(ex.KeyPath, $"Config #{index + 1} of the sweep: {ex.Message}");
            }
        }

        public TrackedRun Prepare(object config, RunRequest request, string? runId, ISet<string>? alsoTaken = null)
        {
            var (normalized, ownResources) = RunResources.FromConfig(ExperimentConfig.Normalize(config));
            runId = runId == null ? NewUniqueRunId(alsoTaken) : RunIds.Validate(runId, nameof(RunRequest.RunId));
            if (RunIds.TryParseAttempt(runId, out var attemptOf, out _))
                throw new ArgumentException($"'{runId}' ends like the id of a retry's attempt (run '{attemptOf}', '-a' and a number), which RayRunner gives to attempts after the first. Choose a run id that does not end in '-a' and a number.", nameof(RunRequest.RunId));
            if (request.Retry is { } retry && !RunIds.IsValid(RunIds.ForAttempt(runId, retry.MaxRetries + 1)))
                throw new ArgumentException($"Run id '{runId}' is too long for {retry.MaxRetries} retries: its last attempt would be '{RunIds.ForAttempt(runId, retry.MaxRetries + 1)}', over the 64 characters a run id may have. Choose a shorter run id.", nameof(RunRequest.RunId));
            if (request.TimeoutSeconds < 0)
                throw new ArgumentOutOfRangeException(nameof(request.TimeoutSeconds), request.TimeoutSeconds, "TimeoutSeconds must be 0 (no limit) or more.");
            var template = request.Entrypoint ?? _ctx.Options.Entrypoint
                ?? throw new ArgumentException("No entrypoint: give the command to run, for example 'python train.py {overrides}'.", nameof(request.Entrypoint));

            var input = new TaskInput(ExperimentConfig.WithoutRunId(normalized), runId)
            {
                TimeoutSeconds = request.TimeoutSeconds,
                AdditionalTags = request.Tags,
            };
            var spec = new TaskSpec(input, EntrypointTemplate.Parse(template))
            {
                WorkingDirectory = request.WorkingDirectory,
                SweepId = request.SweepId,
                UseShell = request.UseShell,
                Environment = request.Environment ?? new Dictionary<string, string>(),
            };
            var asked = ownResources?.Over(request.Resources) ?? request.Resources;
            var options = asked == null ? _ctx.RemoteOptions() : asked.ApplyTo(_ctx.RemoteOptions());
            var createdAt = DateTimeOffset.UtcNow;
            var backend = _ctx.Backend;
            return Linked(new TrackedRun(spec, options, normalized, backend.Name, createdAt)
            {
                SpecRecord = new RunSpecRecord
                {
                    SweepId = request.SweepId,
                    ConfigHash = ConfigHash.Compute(input.Config),
                    Config = normalized,
                    Input = input,
                    Entrypoint = spec.Entrypoint.Text,
                    WorkingDirectory = request.WorkingDirectory,
                    UseShell = request.UseShell,
                    Environment = request.Environment,
                    Options = options,
                    Backend = backend.Name,
                    Address = backend.Address,
                    CreatedAt = createdAt,
                    Retry = request.Retry,
                },
            });
        }

        /// <summary>A run as the store recorded it (another session's or process's), to follow, adopt or report.</summary>
        public TrackedRun FromRecord(RunRecord record, bool follower)
        {
            var input = record.Spec.Input ?? new TaskInput(
                ExperimentConfig.WithoutRunId(record.Spec.Config.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal)), record.RunId);
            EntrypointTemplate template;
            try
            {
                template = EntrypointTemplate.Parse(record.Spec.Entrypoint);
            }
            catch (ArgumentException) when (record.IsFinal)
            {
                template = EntrypointTemplate.Parse("(unavailable)"); // the result is all a finished run needs
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"The record of run '{record.RunId}' holds an entrypoint that cannot be used: {ex.Message}", ex);
            }
            var spec = new TaskSpec(input, template)
            {
                WorkingDirectory = record.Spec.WorkingDirectory,
                SweepId = record.Spec.SweepId,
                UseShell = record.Spec.UseShell,
                Environment = record.Spec.Environment ?? new Dictionary<string, string>(),
            };
            var run = new TrackedRun(spec, record.Spec.Options ?? _ctx.RemoteOptions(), record.Spec.Config, record.Spec.Backend, record.Spec.CreatedAt)
            {
                SpecRecord = record.Spec,
                IsFollower = follower,
            };
            run.SyncAttempts(record);
            if (record.IsSubmitted)
            {
                run.Ref = record.ToTaskRef();
                run.DispatchedAt = record.Submission!.SubmittedAt;
            }
            return record.IsFinal ? run : Linked(run);
        }

        /// <summary>The run's watch becomes a child of the runner's lifetime (the cancellation tree).</summary>
        TrackedRun Linked(TrackedRun run)
        {
            run.LinkTo(_ctx.Lifetime);
            return run;
        }

        string NewUniqueRunId(ISet<string>? alsoTaken)
        {
            // 32 bits of a GUID: collisions are rare but real in a long-lived store, so check.
            while (true)
            {
                var id = RunIds.New();
                if (alsoTaken?.Contains(id) != true && !_ctx.Runs.Contains(id) && _ctx.Store.TryLoad(id) == null) return id;
            }
        }
    }
}
