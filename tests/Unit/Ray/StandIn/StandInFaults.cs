using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;

namespace RayRunner.Tests.Unit.Ray.StandIn
{
    /// <summary>What the stand-in does to a request instead of (or after) serving it.</summary>
    public enum FaultKind
    {
        None,
        /// <summary>500 with a traceback text body, before anything is done.</summary>
        ServerError,
        /// <summary>Holds the request past any sane client timeout, then drops the connection; nothing is done.</summary>
        Stall,
        /// <summary>Drops the connection before anything is done.</summary>
        Drop,
        /// <summary>Does the work (a submit records the job), then drops the connection instead of answering.</summary>
        LoseResponse,
    }

    /// <summary>The request a fault decision is made about.</summary>
    public sealed record FaultRequest(string Method, string Path, bool IsWebSocket);

    /// <summary>
    /// Decides faults per request: one-shot rules first (in the order added), then <see cref="Random"/>.
    /// Counts what it injected, so tests can check faults really happened.
    /// </summary>
    public sealed class StandInFaults
    {
        readonly ConcurrentQueue<(Func<FaultRequest, bool> Match, FaultKind Kind)> _once = new();
        readonly object _gate = new();
        readonly ConcurrentDictionary<FaultKind, int> _injected = new();

        /// <summary>Called for requests no one-shot rule took; null injects nothing.</summary>
        public Func<FaultRequest, FaultKind>? Random { get; set; }

        /// <summary>How long a <see cref="FaultKind.Stall"/> holds the request.</summary>
        public TimeSpan StallFor { get; set; } = TimeSpan.FromSeconds(5);

        /// <summary>Injects <paramref name="kind"/> into the next request that matches.</summary>
        public void Once(string method, Func<string, bool> path, FaultKind kind) =>
            _once.Enqueue((r => r.Method == method && path(r.Path), kind));

        public int Injected(FaultKind kind) => _injected.TryGetValue(kind, out var n) ? n : 0;

        public int TotalInjected
        {
            get
            {
                var n = 0;
                foreach (var kv in _injected) n += kv.Value;
                return n;
            }
        }

        internal FaultKind Decide(FaultRequest request)
        {
            FaultKind kind = FaultKind.None;
            lock (_gate)
            {
                // One-shot rules: take the first that matches, keep the rest in order.
                var kept = new List<(Func<FaultRequest, bool>, FaultKind)>();
                var taken = false;
                while (_once.TryDequeue(out var rule))
                {
                    if (!taken && rule.Match(request))
                    {
                        kind = rule.Kind;
                        taken = true;
                    }
                    else kept.Add(rule);
                }
                foreach (var rule in kept) _once.Enqueue(rule);
            }
            if (kind == FaultKind.None && Random != null) kind = Random(request);
            if (kind != FaultKind.None) _injected.AddOrUpdate(kind, 1, (_, n) => n + 1);
            return kind;
        }

        /// <summary>A seeded random plan: each request fails with <paramref name="rate"/>, the kind drawn from <paramref name="kinds"/>.</summary>
        public static Func<FaultRequest, FaultKind> RandomPlan(double rate, int seed, params FaultKind[] kinds)
        {
            var random = new System.Random(seed);
            var gate = new object();
            return request =>
            {
                lock (gate)
                {
                    if (random.NextDouble() >= rate) return FaultKind.None;
                    var kind = kinds[random.Next(kinds.Length)];
                    // Only a submit can "lose its response after the work"; elsewhere it is a plain drop.
                    return kind == FaultKind.LoseResponse && !(request.Method == "POST" && request.Path == "/api/jobs/") ? FaultKind.Drop : kind;
                }
            };
        }
    }
}
