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

        /// <summary>Which try of the run this is (1 for the first; see <see cref="RetryPolicy"/>).</summary>
        public int Attempt { get; init; } = 1;

        /// <summary>
        /// The id the backend knows this attempt by (Ray's submission_id, the local run's files):
        /// the run id for the first attempt, <c>&lt;runid&gt;-aN</c> after (<see cref="RunIds.ForAttempt"/>).
        /// The experiment still sees the run id.
        /// </summary>
        public string SubmissionId => RunIds.ForAttempt(RunId, Attempt);

        /// <summary>The same run, as attempt <paramref name="attempt"/>.</summary>
        public TaskSpec ForAttempt(int attempt) => attempt == Attempt ? this : new TaskSpec(Input, Entrypoint)
        {
            Attempt = attempt,
            WorkingDirectory = WorkingDirectory,
            SweepId = SweepId,
            UseShell = UseShell,
            Environment = Environment,
        };
        /// <summary>The same run with <paramref name="environment"/> as its extra variables.</summary>
        public TaskSpec WithEnvironment(IReadOnlyDictionary<string, string> environment) => new TaskSpec(Input, Entrypoint)
        {
            Attempt = Attempt,
            WorkingDirectory = WorkingDirectory,
            SweepId = SweepId,
            UseShell = UseShell,
            Environment = environment,
        };

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
            // Only a retry says so: a first attempt's environment is what it always was.
            if (Attempt > 1) env[EnvAttempt] = Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return env;
        }

        public const string EnvRunId = "RAYRUNNER_RUN_ID";
        public const string EnvTaskInput = "RAYRUNNER_TASK_INPUT";
        /// <summary>Set for attempts after the first (2, 3, ...), so an experiment can resume its own checkpoint.</summary>
        public const string EnvAttempt = "RAYRUNNER_ATTEMPT";
    }
}
