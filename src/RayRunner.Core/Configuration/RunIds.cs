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

        /// <summary>
        /// The id a backend knows attempt <paramref name="attempt"/> of a run by (its Ray submission
        /// id, its local files): the run id itself for the first attempt, so runs without retries are
        /// exactly as before, then <c>&lt;runid&gt;-a2</c>, <c>-a3</c>, ...
        /// </summary>
        public static string ForAttempt(string runId, int attempt) =>
            attempt <= 1 ? runId : runId + AttemptSuffix + attempt.ToString(System.Globalization.CultureInfo.InvariantCulture);

        /// <summary>The part of an attempt's id after the run id, before the attempt number.</summary>
        public const string AttemptSuffix = "-a";

        static readonly Regex AttemptId = new Regex("^(?<run>.+)-a(?<n>[1-9][0-9]{0,2})$", RegexOptions.CultureInvariant);

        /// <summary>
        /// Splits an attempt's id (<c>&lt;runid&gt;-aN</c>, N of 2 or more) into the run id and the
        /// attempt number; false for anything else (a plain run id).
        /// </summary>
        public static bool TryParseAttempt(string? id, out string runId, out int attempt)
        {
            runId = id ?? "";
            attempt = 1;
            var m = id == null ? null : AttemptId.Match(id);
            if (m == null || !m.Success) return false;
            var n = int.Parse(m.Groups["n"].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (n < 2) return false;
            runId = m.Groups["run"].Value;
            attempt = n;
            return true;
        }

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
