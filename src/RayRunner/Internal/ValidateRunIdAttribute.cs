using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Checks a run or sweep id the way <see cref="RunIds.Pattern"/> does, but says the rule in words:
    /// ValidatePattern would show the user a raw regular expression.
    /// </summary>
    internal sealed class ValidateRunIdAttribute : ValidateArgumentsAttribute
    {
        public ValidateRunIdAttribute(string noun) => Noun = noun;

        /// <summary>What the id names, for the message: "run id", "sweep id".</summary>
        public string Noun { get; }

        /// <summary>Refuse ids that end like a retry attempt's (<c>-a2</c>): only for ids of new runs.</summary>
        public bool RefuseAttemptIds { get; set; }

        protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
        {
            var text = PSValues.AsText(arguments);
            if (RunIds.IsValid(text))
            {
                if (RefuseAttemptIds && RunIds.TryParseAttempt(text, out var attemptOf, out _))
                    throw new ValidationMetadataException(
                        $"'{text}' ends like the id RayRunner gives a retry's attempts of run '{attemptOf}' ('-a' and a number). Choose a {Noun} that does not end that way.");
                return;
            }
            throw new ValidationMetadataException(
                $"'{text}' is not a valid {Noun}. A {Noun} is 1 to 64 characters: letters, digits, '_', '.' or '-', " +
                "starting with a letter or digit (for example 'lr-sweep-2'); it names a folder and a Ray job, so it cannot hold blanks or slashes.");
        }
    }
}
