using System;

namespace RayRunner.Core
{
    /// <summary>
    /// Ray was asked for and cannot be had (tmgg raises ImportError "Ray is not installed"). The
    /// message always starts "Ray is not installed" and says the three ways forward.
    /// </summary>
    public sealed class RayNotInstalledException : InvalidOperationException
    {
        public const string MessagePrefix = "Ray is not installed";

        public RayNotInstalledException(string? detail = null)
            : base(BuildMessage(detail))
        {
            Detail = detail;
        }

        /// <summary>What was looked for and where, e.g. "no 'ray' command on PATH and nothing answered at http://127.0.0.1:8265".</summary>
        public string? Detail { get; }

        static string BuildMessage(string? detail) =>
            MessagePrefix + (string.IsNullOrEmpty(detail) ? "." : $": {detail}.") +
            " Install it with: pip install -U \"ray[default]\" (the dashboard is needed for job submission)." +
            " Or point RayRunner at a running cluster: -Address http://<head>:8265, or set RAY_ADDRESS to that URL." +
            " Or use the local backend, which needs no Ray: -Backend Local.";
    }
}
