using System;

namespace RayRunner.Core
{
    /// <summary>A config that RayRunner cannot send: the message names the key path and what to do.</summary>
    public sealed class ConfigValidationException : ArgumentException
    {
        public ConfigValidationException(string keyPath, string message)
            : base(message)
        {
            KeyPath = keyPath;
        }

        /// <summary>Where the problem is, e.g. <c>model.layers[2]</c>; empty for the config itself.</summary>
        public string KeyPath { get; }
    }
}
