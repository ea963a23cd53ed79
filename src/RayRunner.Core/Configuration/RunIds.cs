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

        /// <summary>The rule of <see cref="Pattern"/> in words, for messages.</summary>
        public const string Rule = "A run id is 1 to 64 characters: letters, digits, '_', '.' or '-', starting with a letter or digit (for example 'baseline-2').";

        static readonly Regex Valid = new Regex(Pattern, RegexOptions.CultureInvariant);

        // Hex digits that PowerShell reads as a number when typed bare: all digits ("00012345" is
        // 12345), an exponent ("1e234567" is Infinity), the decimal suffix d ("1234567d"). Exponent
        // and suffix together read as a number only sometimes ("1e5d" yes, "12e45d" no); such ids are
        // redrawn all the same, to be safe.
        static readonly Regex NumberToPowerShell = new Regex("^[0-9]+(e[0-9]+)?d?$", RegexOptions.CultureInvariant);

        /// <summary>
        /// 8 lower-case hex characters from a fresh GUID (tmgg: str(uuid4())[:8]). An id PowerShell
        /// would read as a number when typed without quotes (about 3 in 100: "00012345" becomes
        /// 12345, "1e234567" Infinity) is drawn again, so `Stop-RayRun 4f2a9c01` always means that run.
        /// </summary>
        public static string New()
        {
            while (true)
            {
                var id = Guid.NewGuid().ToString("N").Substring(0, 8);
                if (!ReadsAsNumber(id)) return id;
            }
        }

        /// <summary>Would PowerShell take this id, typed as a bare argument, for a number?</summary>
        public static bool ReadsAsNumber(string id) => NumberToPowerShell.IsMatch(id);

        public static bool IsValid(string? runId) => runId != null && Valid.IsMatch(runId);

        /// <summary>Throws an <see cref="ArgumentException"/> that says what a valid id looks like.</summary>
        public static string Validate(string? runId, string parameterName = "runId")
        {
            if (!IsValid(runId))
                throw new ArgumentException(
                    $"'{runId}' is not a valid run id. {Rule}",
                    parameterName);
            return runId!;
        }
    }
}
