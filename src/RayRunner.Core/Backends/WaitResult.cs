using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>ray.wait's answer: the runs that are final and those that are not, with the latter's phase when known.</summary>
    public sealed class WaitResult
    {
        public WaitResult(IReadOnlyList<TaskRef> ready, IReadOnlyList<TaskRef> notReady, IReadOnlyDictionary<string, string>? phases = null)
        {
            Ready = ready;
            NotReady = notReady;
            Phases = phases ?? new Dictionary<string, string>();
        }

        public IReadOnlyList<TaskRef> Ready { get; }
        public IReadOnlyList<TaskRef> NotReady { get; }

        /// <summary>Run id to <c>pending</c> or <c>running</c> for runs not ready, where the backend can tell them apart.</summary>
        public IReadOnlyDictionary<string, string> Phases { get; }

        public string PhaseOf(TaskRef task) =>
            Phases.TryGetValue(task.RunId, out var phase) ? phase : RunStatus.Running;
    }
}
