using System;
using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>
    /// A backend's reference to a submitted run: the counterpart of Ray's ObjectRef. It is plain
    /// data so the run store can persist it and another process can re-attach: <see cref="Locator"/>
    /// holds what the backend needs to find the run again (a Ray submission id and address, a local
    /// process id and start time). Equality is by backend and run id.
    /// </summary>
    public sealed class TaskRef : IEquatable<TaskRef>
    {
        public TaskRef(string backend, string runId, IReadOnlyDictionary<string, string>? locator = null)
        {
            Backend = backend ?? throw new ArgumentNullException(nameof(backend));
            RunId = runId ?? throw new ArgumentNullException(nameof(runId));
            Locator = locator ?? new Dictionary<string, string>();
        }

        public string Backend { get; }
        public string RunId { get; }
        public IReadOnlyDictionary<string, string> Locator { get; }

        public bool Equals(TaskRef? other) =>
            other != null && other.Backend == Backend && other.RunId == RunId;

        public override bool Equals(object? obj) => Equals(obj as TaskRef);
        public override int GetHashCode() => (Backend.GetHashCode() * 397) ^ RunId.GetHashCode();
        public override string ToString() => Backend + ":" + RunId;
    }
}
