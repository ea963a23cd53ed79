using System;

namespace RayRunner.Core.Sweeps
{
    /// <summary>What was wrong with a sweep description; the PowerShell layer maps each to a stable ErrorId.</summary>
    public enum SweepProblem
    {
        /// <summary>A swept key has no values, or there is nothing to sweep at all.</summary>
        Empty,
        /// <summary>A sweep file has a key RayRunner does not know.</summary>
        UnknownKey,
        /// <summary>Two swept keys address the same setting, or one sits inside the other.</summary>
        ConflictingKeys,
        /// <summary>The sweep would make more configs than the MaxConfigs guard allows.</summary>
        TooLarge,
        /// <summary>A value, range, template or file entry is malformed.</summary>
        Invalid,
    }

    /// <summary>A sweep that cannot be expanded; the message says what was wrong and what to do.</summary>
    public sealed class SweepDefinitionException : ArgumentException
    {
        public SweepDefinitionException(SweepProblem problem, string message, string? key = null)
            : base(message)
        {
            Problem = problem;
            Key = key;
        }

        public SweepProblem Problem { get; }

        /// <summary>The swept key or file entry at fault, when there is one.</summary>
        public string? Key { get; }
    }
}
