using System;
using System.Collections.Generic;
using RayRunner.Core;

namespace RayRunner.Tests.Unit.Fakes
{
    /// <summary>A store that passes everything to another; tests override <see cref="Save"/> to watch or slow writes.</summary>
    public abstract class DelegatingRunStore : IRunStore
    {
        protected DelegatingRunStore(IRunStore inner) => Inner = inner;

        protected IRunStore Inner { get; }

        public virtual RunRecord Save(RunRecord record) => Inner.Save(record);
        public RunRecord? TryLoad(string runId) => Inner.TryLoad(runId);
        public virtual IReadOnlyList<RunRecord> List() => Inner.List();
        public virtual IReadOnlyList<StoreProblem> ListDamaged() => Inner.ListDamaged();
        public virtual StoreListing ListAll() => Inner.ListAll();
        public StoreProblem? DamageOf(string runId) => Inner.DamageOf(runId);
        public bool Delete(string runId) => Inner.Delete(runId);
        public T WithLock<T>(Func<T> action) => Inner.WithLock(action);
        public string? LogPathFor(string runId) => Inner.LogPathFor(runId);
        public IReadOnlyList<StoreProblem> Problems => Inner.Problems;
    }
}
