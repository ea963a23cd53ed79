using System;

namespace RayRunner.Core.Ray
{
    /// <summary>The dashboard answered with an error status. <see cref="ServerMessage"/> is the meaningful line of its text body.</summary>
    public class RayApiException : Exception
    {
        public RayApiException(string address, string method, string path, int statusCode, string serverMessage)
            : base($"The Ray dashboard at {address} answered {statusCode} to {method} {path}: {serverMessage}")
        {
            StatusCode = statusCode;
            Method = method;
            Path = path;
            ServerMessage = serverMessage;
        }

        public int StatusCode { get; }
        public string Method { get; }
        public string Path { get; }
        public string ServerMessage { get; }

        /// <summary>Worth retrying: the server failed, rather than refusing the request.</summary>
        public bool IsTransient => StatusCode >= 500 || StatusCode == 429 || StatusCode == 408;
    }

    /// <summary>No answer: the connection failed or the request ran past its timeout.</summary>
    public sealed class RayConnectionException : Exception
    {
        public RayConnectionException(string message, bool isTimeout, Exception? inner = null)
            : base(message, inner)
        {
            IsTimeout = isTimeout;
        }

        /// <summary>True when the request may have reached the server (it timed out rather than failing to connect).</summary>
        public bool IsTimeout { get; }
    }

    /// <summary>Starting or stopping the local cluster with the <c>ray</c> CLI failed; the message carries the CLI's output.</summary>
    public sealed class RayClusterException : InvalidOperationException
    {
        public RayClusterException(string message, string? cliOutput = null, Exception? inner = null)
            : base(message, inner)
        {
            CliOutput = cliOutput;
        }

        public string? CliOutput { get; }
    }

    /// <summary>A working directory cannot be shipped (too big, unreadable, missing).</summary>
    public sealed class RayPackageException : InvalidOperationException
    {
        public RayPackageException(string message, Exception? inner = null) : base(message, inner) { }
    }
}
