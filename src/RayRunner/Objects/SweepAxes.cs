using System;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.Linq;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Which settings a sweep varies: the config values that differ between its runs (lr and seed in
    /// a grid), as <c>a.b=value</c> settings. The results view shows those, not the settings every
    /// run shares, so a table of a sweep reads as the grid it is.
    /// </summary>
    internal sealed class SweepAxes
    {
        readonly Dictionary<string, HashSet<string>> _keysBySweep = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        readonly Func<string, IEnumerable<IReadOnlyDictionary<string, object?>>> _configsOf;
        // Read once: the runs of every sweep asked about come from one listing.

        /// <param name="configsOf">The configs of every run of a sweep (asked once per sweep).</param>
        public SweepAxes(Func<string, IEnumerable<IReadOnlyDictionary<string, object?>>> configsOf) => _configsOf = configsOf;

        /// <summary>The run's swept settings in config order; every setting when the run is in no sweep or its sweep varies nothing.</summary>
        public OrderedDictionary Of(string? sweepId, IReadOnlyDictionary<string, object?> config)
        {
            var settings = Settings(config);
            var swept = new OrderedDictionary(StringComparer.Ordinal);
            var keys = sweepId == null ? null : KeysOf(sweepId);
            foreach (var kv in settings)
                if (keys == null || keys.Count == 0 || keys.Contains(kv.Key)) swept[kv.Key] = kv.Value;
            return swept;
        }

        HashSet<string> KeysOf(string sweepId)
        {
            if (_keysBySweep.TryGetValue(sweepId, out var known)) return known;
            var values = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            var presence = new Dictionary<string, int>(StringComparer.Ordinal);
            var runs = 0;
            foreach (var config in _configsOf(sweepId))
            {
                runs++;
                foreach (var kv in Settings(config))
                {
                    if (!values.TryGetValue(kv.Key, out var seen)) values[kv.Key] = seen = new HashSet<string>(StringComparer.Ordinal);
                    seen.Add(kv.Value);
                    presence[kv.Key] = presence.TryGetValue(kv.Key, out var n) ? n + 1 : 1;
                }
            }
            // A setting varies when runs disagree on it, or some runs lack it.
            var varying = new HashSet<string>(
                values.Where(kv => kv.Value.Count > 1 || presence[kv.Key] < runs).Select(kv => kv.Key), StringComparer.Ordinal);
            _keysBySweep[sweepId] = varying;
            return varying;
        }

        /// <summary>The config as leaf settings, <c>a.b</c> to its value as {overrides} writes it.</summary>
        static List<KeyValuePair<string, string>> Settings(IReadOnlyDictionary<string, object?> config) =>
            HydraOverrides.Flatten(config)
                .Select(o => { var at = o.IndexOf('='); return new KeyValuePair<string, string>(o.Substring(0, at), o.Substring(at + 1)); })
                .ToList();
    }
}
