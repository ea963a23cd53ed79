using System;

namespace RayRunner.Core
{
    /// <summary>A config that RayRunner cannot send: the message names the key path and what to do.</summary>
    public sealed class ConfigValidationException : ArgumentException
    {
        public ConfigValidationException(string keyPath, string message, string? advice = null)
            : base(message)
        {
            KeyPath = keyPath;
            Advice = advice;
        }

        /// <summary>What to do about it, when the message's own advice is not the usual "fix the value's type or key".</summary>
        public string? Advice { get; }

        /// <summary>Where the problem is, e.g. <c>model.layers[2]</c>; empty for the config itself.</summary>
        public string KeyPath { get; }
    }
}
