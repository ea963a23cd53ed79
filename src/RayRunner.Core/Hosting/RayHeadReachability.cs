using System;
using System.Collections.Concurrent;
using System.Threading;
using RayRunner.Core.Ray;

namespace RayRunner.Core
{
    /// <summary>
    /// Whether the Ray heads that stored runs were sent to still answer, asked once per address
    /// (GET /api/version, a few seconds at most) and remembered for the life of this object: one
    /// listing. Lets a session with no connection tell a run that is still pending on a live head
    /// from one whose head is gone, without connecting or starting anything.
    /// </summary>
    public sealed class RayHeadReachability
    {
        readonly ConcurrentDictionary<string, Lazy<bool>> _answers = new ConcurrentDictionary<string, Lazy<bool>>(StringComparer.OrdinalIgnoreCase);
        readonly TimeSpan _timeout;
        readonly CancellationToken _cancellation;

        /// <param name="timeout">How long one request may take (asked at most twice, as connecting does).</param>
        /// <param name="cancellation">Stops a probe at once (Ctrl+C); a cancelled probe counts as answering, so nothing is called lost for it.</param>
        public RayHeadReachability(TimeSpan? timeout = null, CancellationToken cancellation = default)
        {
            _timeout = timeout ?? TimeSpan.FromSeconds(2);
            _cancellation = cancellation;
        }

        /// <summary>True when a dashboard answers at <paramref name="address"/> (a 401 counts: something is there).</summary>
        public bool Answers(string address)
        {
            if (string.IsNullOrWhiteSpace(address)) return true;
            return _answers.GetOrAdd(address, a => new Lazy<bool>(() => Ask(a))).Value;
        }

        bool Ask(string address)
        {
            try
            {
                var options = new RayBackendOptions { Address = address, NoAutoStart = true, ProbeTimeout = _timeout };
                return RayDashboard.ProbeAsync(options, _cancellation).ConfigureAwait(false).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                return true;
            }
            catch (ArgumentException)
            {
                // Not an address a dashboard could be at: nothing to ask, and nothing to claim about it.
                return true;
            }
        }
    }
}
