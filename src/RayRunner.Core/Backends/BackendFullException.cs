using System;

namespace RayRunner.Core
{
    /// <summary>
    /// A backend with a fixed capacity (<see cref="BackendAbilities.RunsAtOnce"/>) refused a run
    /// because its slots are taken right now. Backends do not queue: the runner keeps the run
    /// <c>queued</c> and hands it over again when a slot frees. Nothing of the run was kept.
    /// </summary>
    public sealed class BackendFullException : InvalidOperationException
    {
        public BackendFullException(string runId, string message) : base(message)
        {
            RunId = runId;
        }

        /// <summary>The run that was refused.</summary>
        public string RunId { get; }
    }
}
