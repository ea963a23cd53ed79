using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;

namespace RayRunner.Core
{
    /// <summary>
    /// A stable identity for a config, independent of key order and of how it was written
    /// (hashtable, JSON, PSCustomObject): SHA-256 over canonical JSON with sorted keys. Resuming a
    /// sweep uses it to know which configs already ran. A <c>run_id</c> key is left out, as tmgg
    /// ignores it.
    /// </summary>
    public static class ConfigHash
    {
        public static string Compute(IReadOnlyDictionary<string, object?> config)
        {
            var canonical = ConfigJson.ToJson(Canonicalize(config, topLevel: true));
            using var sha = SHA256.Create();
            var bytes = sha.ComputeHash(Encoding.UTF8.GetBytes(canonical));
            var sb = new StringBuilder(bytes.Length * 2);
            foreach (var b in bytes) sb.Append(b.ToString("x2"));
            return sb.ToString();
        }

        static IReadOnlyDictionary<string, object?> Canonicalize(IReadOnlyDictionary<string, object?> map, bool topLevel)
        {
            var sorted = new SortedDictionary<string, object?>(StringComparer.Ordinal);
            foreach (var kv in map)
            {
                if (topLevel && kv.Key == "run_id") continue;
                sorted[kv.Key] = CanonicalValue(kv.Value);
            }
            return sorted;
        }

        static object? CanonicalValue(object? value) => value switch
        {
            IReadOnlyDictionary<string, object?> m => Canonicalize(m, topLevel: false),
            IEnumerable<object?> list when value is not string => list.Select(CanonicalValue).ToList(),
            // 1 and 1.0 are the same setting: write whole doubles as integers.
            double d when d == Math.Floor(d) && Math.Abs(d) < 1e15 => (long)d,
            _ => value,
        };
    }
}
