using System;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// Picks and builds the backend a caller asked for (<see cref="BackendChoice"/>). The one place
    /// that knows every backend, so cmdlets and C# callers choose the same way.
    /// </summary>
    public static class BackendFactory
    {
        /// <summary>
        /// Replaces the built-in choice, for tests that put a fake at the backend boundary. Null in
        /// production.
        /// </summary>
        public static Func<BackendSettings, CancellationToken, Task<IRayBackend>>? Override { get; set; }

        /// <param name="warn">Receives the one-line warning when Auto falls back to the local backend.</param>
        public static Task<IRayBackend> CreateAsync(BackendSettings settings, Action<string>? warn, CancellationToken cancellationToken)
        {
            if (settings == null) throw new ArgumentNullException(nameof(settings));
            var hook = Override;
            if (hook != null) return hook(settings, cancellationToken);
            // Filled in as the Ray Jobs backend and the local process backend land.
            throw new NotSupportedException($"The {settings.Backend} backend is not available in this build.");
        }
    }
}
