using System;
using System.Collections.Generic;
using System.Linq;

namespace RayRunner.Core.Sweeps
{
    /// <summary>
    /// A swept key such as <c>model.k</c>: a path of nested config keys. Sweeps address nested
    /// settings this way (as Hydra overrides do); the generated config nests them as maps.
    /// </summary>
    internal static class DottedKey
    {
        public static string[] Split(string key)
        {
            var parts = key.Split('.');
            foreach (var part in parts)
            {
                if (part.Length == 0 || part.Any(ch => ch == '=' || ch == '[' || ch == ']' || char.IsWhiteSpace(ch) || char.IsControl(ch)))
                    throw new SweepDefinitionException(SweepProblem.Invalid,
                        $"The swept key '{key}' is not a key path. Write names joined by dots (model.k), without '=', brackets, blanks or empty parts.", key);
            }
            return parts;
        }

        /// <summary>
        /// Refuses keys that address the same setting twice (<c>lr</c> in the grid and in a zip) or
        /// one inside the other (<c>model</c> and <c>model.k</c>): which value wins would depend on
        /// an order the user never chose.
        /// </summary>
        public static void CheckDistinct(IEnumerable<string> keys)
        {
            var seen = new List<string>();
            foreach (var key in keys)
            {
                foreach (var other in seen)
                {
                    if (string.Equals(key, other, StringComparison.Ordinal))
                        throw new SweepDefinitionException(SweepProblem.ConflictingKeys,
                            $"The key '{key}' is swept twice. Sweep each setting in one place only (the grid, a zip group, or the file's seeds/architectures/datasets).", key);
                    var (outer, inner) = key.Length < other.Length ? (key, other) : (other, key);
                    if (inner.StartsWith(outer + ".", StringComparison.Ordinal))
                        throw new SweepDefinitionException(SweepProblem.ConflictingKeys,
                            $"The swept keys '{outer}' and '{inner}' conflict: '{inner}' lies inside '{outer}', so one would overwrite the other. Sweep whole values of '{outer}' or single keys inside it, not both.", inner);
                }
                seen.Add(key);
            }
        }

        /// <summary>Refuses a key that would have to go inside a value of the base config that is not a map.</summary>
        public static void CheckAgainstBase(string key, IReadOnlyDictionary<string, object?> baseConfig)
        {
            var parts = Split(key);
            IReadOnlyDictionary<string, object?> map = baseConfig;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                if (!map.TryGetValue(parts[i], out var next) || next == null) return;
                if (next is IReadOnlyDictionary<string, object?> nested)
                {
                    map = nested;
                    continue;
                }
                var prefix = string.Join(".", parts, 0, i + 1);
                throw new SweepDefinitionException(SweepProblem.ConflictingKeys,
                    $"The swept key '{key}' sets a key inside '{prefix}', but the base config has '{prefix}' = {SweepValues.Display(next)}, which is not a map. Sweep '{prefix}' itself, or make it a map in the base config.", key);
            }
        }

        /// <summary>Sets <paramref name="key"/> in <paramref name="config"/>, creating the maps on the way.</summary>
        public static void Set(Dictionary<string, object?> config, string key, object? value)
        {
            var parts = Split(key);
            var map = config;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                if (!(map.TryGetValue(parts[i], out var next) && next is Dictionary<string, object?> nested))
                {
                    nested = new Dictionary<string, object?>(StringComparer.Ordinal);
                    map[parts[i]] = nested;
                }
                map = nested;
            }
            map[parts[parts.Length - 1]] = DeepCopy(value);
        }

        /// <summary>Reads a dotted path from a config; false when any part is missing.</summary>
        public static bool TryGet(IReadOnlyDictionary<string, object?> config, string key, out object? value)
        {
            value = null;
            IReadOnlyDictionary<string, object?>? map = config;
            var parts = key.Split('.');
            for (var i = 0; i < parts.Length; i++)
            {
                if (map == null || !map.TryGetValue(parts[i], out var next)) return false;
                if (i == parts.Length - 1)
                {
                    value = next;
                    return true;
                }
                map = next as IReadOnlyDictionary<string, object?>;
            }
            return false;
        }

        /// <summary>A copy of a normalized value, so no two generated configs share a map or a list.</summary>
        public static object? DeepCopy(object? value) => value switch
        {
            Dictionary<string, object?> map => map.ToDictionary(kv => kv.Key, kv => DeepCopy(kv.Value), StringComparer.Ordinal),
            List<object?> list => list.Select(DeepCopy).ToList(),
            _ => value,
        };
    }
}
