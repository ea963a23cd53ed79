using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace RayRunner.Core.Local
{
    /// <summary>Which GPU ids a local backend hands out.</summary>
    internal static class GpuInventory
    {
        public const string CudaVisibleDevices = "CUDA_VISIBLE_DEVICES";

        /// <summary>
        /// The ids from CUDA_VISIBLE_DEVICES (e.g. "2,3" or GPU UUIDs), or, when a count is given, the
        /// first <paramref name="numGpus"/> of them, or 0..numGpus-1 when the variable lists fewer.
        /// An unset or empty variable, or "-1" (CUDA's "no devices"), means no GPUs.
        /// </summary>
        public static IReadOnlyList<string> Discover(int? numGpus, Func<string, string?> environment)
        {
            var listed = Parse(environment(CudaVisibleDevices));
            if (!numGpus.HasValue) return listed;
            if (listed.Count >= numGpus.Value) return listed.Take(numGpus.Value).ToList();
            return Enumerable.Range(0, numGpus.Value).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
        }

        static IReadOnlyList<string> Parse(string? value)
        {
            if (string.IsNullOrWhiteSpace(value)) return new string[0];
            var ids = new List<string>();
            foreach (var part in value!.Split(','))
            {
                var id = part.Trim();
                // CUDA stops at the first invalid entry; "-1" is the usual way to say "none".
                if (id.Length == 0 || id.StartsWith("-", StringComparison.Ordinal)) break;
                ids.Add(id);
            }
            return ids;
        }
    }
}
