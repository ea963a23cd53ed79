using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.Management.Automation;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Conversions between PowerShell's wrapper types and the plain values Core works with. Core has
    /// no PowerShell reference, so the module hands it <see cref="Unwrap"/> as a hook.
    /// </summary>
    internal static class PSValues
    {
        /// <summary>
        /// Strips the PSObject wrapper PowerShell puts around pipeline values, and turns a
        /// PSCustomObject (which has no .NET shape of its own) into an ordered map of its properties.
        /// </summary>
        public static object? Unwrap(object? value)
        {
            if (value is not PSObject pso) return value;
            if (pso.BaseObject is PSCustomObject)
            {
                var map = new OrderedDictionary(StringComparer.Ordinal);
                foreach (var property in pso.Properties)
                {
                    // Only what the user wrote: note properties (and script properties) of the object.
                    if (property.MemberType == PSMemberTypes.NoteProperty || property.MemberType == PSMemberTypes.ScriptProperty)
                        map[property.Name] = property.Value;
                }
                return map;
            }
            return pso.BaseObject;
        }

        /// <summary>A normalized Core config value as PowerShell users expect it: ordered hashtables and arrays.</summary>
        public static object? ToPowerShell(object? value)
        {
            switch (value)
            {
                case IReadOnlyDictionary<string, object?> map:
                    return ToOrderedMap(map);
                case string s:
                    return s;
                case IEnumerable<object?> list:
                    var items = new List<object?>();
                    foreach (var item in list) items.Add(ToPowerShell(item));
                    return items.ToArray();
                default:
                    return value;
            }
        }

        /// <summary>
        /// An ordered, case-insensitive map (like PowerShell's <c>[ordered]@{}</c>) so <c>$r.Config.LR</c>
        /// finds <c>lr</c>; falls back to case-sensitive keys when two keys differ only in case.
        /// </summary>
        public static OrderedDictionary ToOrderedMap(IReadOnlyDictionary<string, object?> map)
        {
            var insensitive = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var clash = false;
            foreach (var key in map.Keys) clash |= !insensitive.Add(key);
            var result = new OrderedDictionary(clash ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase);
            foreach (var kv in map) result[kv.Key] = ToPowerShell(kv.Value);
            return result;
        }

        /// <summary>Metrics as one map: the numbers, then the values reported as text (never dropped).</summary>
        public static OrderedDictionary ToOrderedMap(IReadOnlyDictionary<string, double> metrics, IReadOnlyDictionary<string, string>? textMetrics = null)
        {
            var result = new OrderedDictionary(StringComparer.OrdinalIgnoreCase);
            foreach (var kv in metrics) if (!result.Contains(kv.Key)) result[kv.Key] = kv.Value;
            if (textMetrics != null)
                foreach (var kv in textMetrics) if (!result.Contains(kv.Key)) result[kv.Key] = kv.Value;
            return result;
        }

        /// <summary>Wraps an object and puts its stable type name first, which the format file's views select on.</summary>
        public static PSObject WithTypeName(object value, string typeName)
        {
            var pso = new PSObject(value);
            pso.TypeNames.Insert(0, typeName);
            return pso;
        }

        public static string? AsText(object? value) => Unwrap(value) switch
        {
            null => null,
            string s => s,
            IEnumerable => null,
            var other => other.ToString(),
        };
    }
}
