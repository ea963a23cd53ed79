using System;
using System.Collections.Generic;

namespace RayRunner.Core
{
    /// <summary>
    /// The run status vocabulary. Lower-case strings, exactly as tmgg reports them, so that
    /// PowerShell users filter with <c>-Status completed</c> and results round-trip through JSON.
    /// </summary>
    public static class RunStatus
    {
        /// <summary>Held by RayRunner, not yet handed to the backend.</summary>
        public const string Queued = "queued";
        public const string Pending = "pending";
        public const string Running = "running";
        public const string Completed = "completed";
        public const string Failed = "failed";
        public const string Timeout = "timeout";
        public const string Cancelled = "cancelled";
        /// <summary>The run is not tracked.</summary>
        public const string Unknown = "unknown";
        /// <summary>
        /// The run's record in the store cannot be read (damaged, unreadable, from a newer RayRunner):
        /// listed so it is not lost from sight, never followed; removable. Not terminal: nobody knows how it ended.
        /// </summary>
        public const string Damaged = "damaged";

        public static IReadOnlyList<string> All { get; } = new[]
        {
            Queued, Pending, Running, Completed, Failed, Timeout, Cancelled, Unknown, Damaged,
        };

        /// <summary>A terminal status never changes again.</summary>
        public static bool IsTerminal(string? status) =>
            status == Completed || status == Failed || status == Timeout || status == Cancelled;

        public static bool IsKnown(string? status) => status != null && Array.IndexOf((string[])All, status) >= 0;

        /// <summary>
        /// Normalizes what an experiment or a backend reported: case-insensitive, with the
        /// common spellings mapped ("succeeded" and "success" are completed, "canceled" is cancelled).
        /// Anything unrecognized becomes null so callers can choose their own fallback.
        /// </summary>
        public static string? Normalize(string? status)
        {
            if (string.IsNullOrWhiteSpace(status)) return null;
            switch (status!.Trim().ToLowerInvariant())
            {
                case "queued": return Queued;
                case "pending": return Pending;
                case "running": return Running;
                case "completed": case "succeeded": case "success": case "ok": return Completed;
                case "failed": case "error": return Failed;
                case "timeout": case "timed_out": case "timedout": return Timeout;
                case "cancelled": case "canceled": case "stopped": return Cancelled;
                case "unknown": return Unknown;
                case "damaged": return Damaged;
                default: return null;
            }
        }
    }
}
