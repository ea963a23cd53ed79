using System;

namespace RayRunner.Core
{
    /// <summary>
    /// A backend no longer knows a run it was given (a Ray head that forgot the job, after a restart
    /// or a deletion). The runner tells this "lost" end from a failure: a run may be retried on it
    /// (<see cref="RetryPolicy.OnLost"/>).
    /// </summary>
    public class RunLostException : InvalidOperationException
    {
        public RunLostException(string message) : base(message) { }
    }
}
