using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>Everything a backend needs to launch one run, besides its resource options.</summary>
    public sealed class TaskSpec
    {
        public TaskSpec(TaskInput input, EntrypointTemplate entrypoint)
        {
            Input = input;
            Entrypoint = entrypoint;
        }

        public TaskInput Input { get; }
        public string RunId => Input.RunId;
        public EntrypointTemplate Entrypoint { get; }
        /// <summary>The folder the command runs in (the local backend) or that is shipped as working_dir (Ray).</summary>
        public string? WorkingDirectory { get; init; }
        public string? SweepId { get; init; }
        /// <summary>Opt-in: run the expanded command through the platform shell (local backend).</summary>
        public bool UseShell { get; init; }
        /// <summary>Extra environment variables for the command, besides the RAYRUNNER_* ones.</summary>
        public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

        /// <summary>The expanded argument list; argv[0] is the program.</summary>
        public IReadOnlyList<string> Arguments() => Entrypoint.Expand(Input);

        /// <summary>The environment every run gets (design.md's experiment contract).</summary>
        public IReadOnlyDictionary<string, string> ContractEnvironment()
        {
            var env = new Dictionary<string, string>();
            foreach (var kv in Environment) env[kv.Key] = kv.Value;
            env[EnvRunId] = Input.RunId;
            env[EnvTaskInput] = RayRunnerJson.Serialize(Input);
            return env;
        }

        public const string EnvRunId = "RAYRUNNER_RUN_ID";
        public const string EnvTaskInput = "RAYRUNNER_TASK_INPUT";
    }
}
