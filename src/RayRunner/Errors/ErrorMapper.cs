using System;
using System.Collections.Generic;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Turns Core's exceptions into ErrorRecords with stable ids and categories, so no raw exception
    /// ever escapes a cmdlet and -ErrorAction always applies. The id names what failed; the category
    /// says why, in PowerShell's terms.
    /// </summary>
    internal static class ErrorMapper
    {
        /// <param name="fallbackId">The id for an error this mapper has no better name for (what the cmdlet was doing).</param>
        public static ErrorRecord From(Exception ex, string fallbackId, object? target)
        {
            ex = Unwrap(ex);
            var (id, category) = Classify(ex, fallbackId);
            var record = new ErrorRecord(ex, id, category, target);
            if (ex is ConfigValidationException cve)
            {
                var where = string.IsNullOrEmpty(cve.KeyPath) ? "" : $" (key path: {cve.KeyPath})";
                record.ErrorDetails = new ErrorDetails(cve.Message + where)
                {
                    RecommendedAction = cve.Advice ?? DefaultConfigAdvice(cve.KeyPath),
                };
            }
            else if (ex is ArgumentException arg && arg.ParamName != null)
            {
                // .NET appends "(Parameter 'x')" naming a C# parameter the user never saw.
                record.ErrorDetails = new ErrorDetails(MessageWithoutParameterName(arg));
            }
            else if (ex is RayNotInstalledException)
            {
                record.ErrorDetails = new ErrorDetails(ex.Message)
                {
                    RecommendedAction = "pip install -U \"ray[default]\", or Connect-RayCluster -Address http://<head>:8265, or Connect-RayCluster -Backend Local.",
                };
            }
            return record;
        }

        public static (string Id, ErrorCategory Category) Classify(Exception ex, string fallbackId) => ex switch
        {
            ConfigValidationException => (ErrorIds.ConfigInvalid, ErrorCategory.InvalidArgument),
            RayNotInstalledException => (ErrorIds.RayNotInstalled, ErrorCategory.NotInstalled),
            KeyNotFoundException => (ErrorIds.RunNotFound, ErrorCategory.ObjectNotFound),
            NotSupportedException => (fallbackId, ErrorCategory.NotImplemented),
            ArgumentException => (fallbackId, ErrorCategory.InvalidArgument),
            TimeoutException => (fallbackId, ErrorCategory.OperationTimeout),
            OperationCanceledException => (fallbackId, ErrorCategory.OperationStopped),
            System.Net.Http.HttpRequestException => (fallbackId, ErrorCategory.ConnectionError),
            System.Net.Sockets.SocketException => (fallbackId, ErrorCategory.ConnectionError),
            UnauthorizedAccessException => (fallbackId, ErrorCategory.PermissionDenied),
            System.IO.IOException => (fallbackId, ErrorCategory.ReadError),
            // A cluster that does not answer (or whose head did not come up) is a connection problem.
            Core.Ray.RayClusterException => (fallbackId, ErrorCategory.ConnectionError),
            InvalidOperationException => (fallbackId, ErrorCategory.InvalidOperation),
            _ => (fallbackId, ErrorCategory.NotSpecified),
        };

        /// <summary>An ErrorRecord built from a message, for conditions the module detects itself.</summary>
        public static ErrorRecord Make(string id, ErrorCategory category, string message, object? target, string? recommendedAction = null)
        {
            Exception ex = category switch
            {
                ErrorCategory.ObjectNotFound => new ItemNotFoundException(message),
                ErrorCategory.InvalidArgument => new ArgumentException(message),
                _ => new InvalidOperationException(message),
            };
            var record = new ErrorRecord(ex, id, category, target);
            if (recommendedAction != null) record.ErrorDetails = new ErrorDetails(message) { RecommendedAction = recommendedAction };
            return record;
        }

        /// <summary>The message of an ArgumentException without the parameter name .NET adds to it (in either runtime's wording).</summary>
        public static string MessageWithoutParameterName(ArgumentException ex)
        {
            var message = ex.Message;
            if (ex.ParamName == null) return message;
            foreach (var tail in new[] { $" (Parameter '{ex.ParamName}')", $"{Environment.NewLine}Parameter name: {ex.ParamName}" })
            {
                var at = message.LastIndexOf(tail, StringComparison.Ordinal);
                if (at >= 0) return message.Substring(0, at);
            }
            return message;
        }

        static Exception Unwrap(Exception ex)
        {
            while ((ex is AggregateException agg && agg.InnerExceptions.Count == 1) || ex is System.Reflection.TargetInvocationException)
                ex = ex.InnerException!;
            return ex;
        }

        /// <summary>
        /// What to do about a bad config value: a mistake in a config's own _resources entry is about
        /// the resources it may ask for, not the rules for config keys and values.
        /// </summary>
        static string DefaultConfigAdvice(string keyPath) =>
            keyPath == RunResources.ConfigKey || keyPath.StartsWith(RunResources.ConfigKey + ".", StringComparison.Ordinal)
                ? $"Fix the config's {RunResources.ConfigKey} entry: a map of num_cpus, num_gpus, memory (bytes), resources (name = amount) and runtime_env, such as @{{ num_cpus = 2; num_gpus = 1 }}; or ask for them for every run with -NumCpus, -NumGpus, -Memory, -Resources and -RuntimeEnv."
                : "Fix the named setting: configs hold numbers, strings, booleans, null, lists and nested maps, with keys free of dots, '=', brackets and blanks.";
    }
}
