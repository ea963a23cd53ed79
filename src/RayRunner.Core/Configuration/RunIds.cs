using System;
using System.Text.RegularExpressions;

namespace RayRunner.Core
{
    /// <summary>Run ids: made fresh as tmgg does, or given by the user and checked.</summary>
    public static class RunIds
    {
        /// <summary>
        /// A user-given id becomes a directory name and a Ray submission_id, so it must be short,
        /// start with a letter or digit, and hold nothing that could climb out of a folder.
        /// </summary>
        public const string Pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$";

        static readonly Regex Valid = new Regex(Pattern, RegexOptions.CultureInvariant);

        /// <summary>8 lower-case hex characters from a fresh GUID (tmgg: str(uuid4())[:8]).</summary>
        public static string New() => Guid.NewGuid().ToString("N").Substring(0, 8);

        public static bool IsValid(string? runId) => runId != null && Valid.IsMatch(runId);

        /// <summary>Throws an <see cref="ArgumentException"/> that says what a valid id looks like.</summary>
        public static string Validate(string? runId, string parameterName = "runId")
        {
            if (!IsValid(runId))
                throw new ArgumentException(
                    $"'{runId}' is not a valid run id. A run id is 1 to 64 characters: letters, digits, '_', '.' or '-', starting with a letter or digit (pattern {Pattern}).",
                    parameterName);
            return runId!;
        }
    }
}
