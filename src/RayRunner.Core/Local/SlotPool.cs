using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace RayRunner.Core.Local
{
    /// <summary>What one run asks of the machine (from its <see cref="TaskOptions"/>).</summary>
    internal sealed class SlotRequest
    {
        public SlotRequest(double cpus, double gpus, IReadOnlyDictionary<string, double>? resources = null)
        {
            Cpus = cpus;
            Gpus = gpus;
            Resources = resources ?? new Dictionary<string, double>();
        }

        public double Cpus { get; }
        public double Gpus { get; }
        public IReadOnlyDictionary<string, double> Resources { get; }

        public static SlotRequest From(TaskOptions options) =>
            new SlotRequest(options.NumCpus, options.NumGpus ?? 0, options.Resources);
    }

    /// <summary>What a run was given; handed back to <see cref="SlotPool.Release"/> when it ends.</summary>
    internal sealed class SlotGrant
    {
        internal SlotGrant(long cpuUnits, IReadOnlyList<KeyValuePair<int, long>> gpuShares, IReadOnlyList<string> gpuIds, IReadOnlyDictionary<string, long> resources)
        {
            CpuUnits = cpuUnits;
            GpuShares = gpuShares;
            GpuIds = gpuIds;
            Resources = resources;
        }

        internal long CpuUnits { get; }
        /// <summary>GPU index to the share of it taken, in units of 1/<see cref="SlotPool.Unit"/> GPU.</summary>
        internal IReadOnlyList<KeyValuePair<int, long>> GpuShares { get; }
        /// <summary>The device ids the run sees in CUDA_VISIBLE_DEVICES.</summary>
        public IReadOnlyList<string> GpuIds { get; }
        internal IReadOnlyDictionary<string, long> Resources { get; }
    }

    /// <summary>
    /// The run, CPU, GPU and custom-resource slots of one backend instance. Amounts are counted in
    /// integer units of 1/10000 so fractions add up exactly.
    /// </summary>
    /// <remarks>
    /// GPUs follow Ray's rules, so a tmgg config means the same here as on a cluster: a request of
    /// at most one GPU may be a fraction and is packed onto the first GPU with that much left (two
    /// runs of 0.5 share one device and both see its id); a request above one must be a whole
    /// number of otherwise unused GPUs. Custom resources count only when declared by InitAsync (the
    /// runner declares <c>experiment_slot</c>); requests for undeclared ones are not enforced.
    /// Not thread-safe: the backend calls it under its lock.
    /// </remarks>
    internal sealed class SlotPool
    {
        internal const long Unit = 10000;

        readonly long _cpuCapacity;
        long _cpuFree;
        readonly long[] _gpuFree;
        readonly IReadOnlyList<string> _gpuIds;
        readonly Dictionary<string, long> _resourceCapacity = new Dictionary<string, long>(StringComparer.Ordinal);
        readonly Dictionary<string, long> _resourceFree = new Dictionary<string, long>(StringComparer.Ordinal);

        public SlotPool(int maxRuns, int cpus, IReadOnlyList<string> gpuIds)
        {
            if (maxRuns < 1) throw new ArgumentOutOfRangeException(nameof(maxRuns));
            MaxRuns = maxRuns;
            _cpuCapacity = _cpuFree = cpus * Unit;
            _gpuIds = gpuIds ?? throw new ArgumentNullException(nameof(gpuIds));
            _gpuFree = gpuIds.Select(_ => Unit).ToArray();
        }

        public int MaxRuns { get; }
        public int RunsInUse { get; private set; }
        public double TotalCpus => (double)_cpuCapacity / Unit;
        public IReadOnlyList<string> GpuIds => _gpuIds;

        /// <summary>Declares custom resources (Ray's <c>resources=</c> of init). Later declarations of a known name are ignored.</summary>
        public void Declare(IReadOnlyDictionary<string, double> resources)
        {
            foreach (var kv in resources)
            {
                if (_resourceCapacity.ContainsKey(kv.Key) || !(kv.Value >= 0)) continue;
                _resourceCapacity[kv.Key] = _resourceFree[kv.Key] = ToUnits(kv.Value);
            }
        }

        /// <summary>
        /// How many runs of this shape fit on an idle machine at once (0 when one never fits): what
        /// the runner may hand over without runs waiting inside the backend, where they would not
        /// outlive the session that holds them.
        /// </summary>
        public int RunsThatFitAtOnce(SlotRequest request)
        {
            if (WhyItCanNeverFit(request) != null) return 0;
            long fit = MaxRuns;
            var cpuUnits = ToUnits(request.Cpus);
            if (cpuUnits > 0) fit = Math.Min(fit, _cpuCapacity / cpuUnits);
            var gpuUnits = ToUnits(request.Gpus);
            // A fraction shares one device (as many as fit on each); whole GPUs take whole devices.
            if (gpuUnits > 0) fit = Math.Min(fit, gpuUnits <= Unit ? _gpuFree.Length * (Unit / gpuUnits) : _gpuFree.Length / (gpuUnits / Unit));
            foreach (var kv in request.Resources)
            {
                var units = ToUnits(kv.Value);
                if (units > 0 && _resourceCapacity.TryGetValue(kv.Key, out var capacity)) fit = Math.Min(fit, capacity / units);
            }
            return (int)Math.Max(0, fit);
        }

        /// <summary>Why the request could not be met even on an idle machine; null when it can.</summary>
        public string? WhyItCanNeverFit(SlotRequest request)
        {
            if (!IsAmount(request.Cpus))
                return $"The run asks for {Format(request.Cpus)} CPUs; give 0 or more.";
            if (!IsAmount(request.Gpus))
                return $"The run asks for {Format(request.Gpus)} GPUs; give 0 or more.";
            if (ToUnits(request.Cpus) > _cpuCapacity)
                return $"The run asks for {Format(request.Cpus)} CPUs but this local backend has {Format(TotalCpus)}. Ask for fewer CPUs per task (-NumCpusPerTask), or give the backend more (NumCpus).";
            var gpuUnits = ToUnits(request.Gpus);
            if (gpuUnits > Unit && gpuUnits % Unit != 0)
                return $"The run asks for {Format(request.Gpus)} GPUs: above 1, GPUs are handed out whole (as in Ray). Ask for a whole number, or for a fraction of at most 1.";
            if (gpuUnits > 0 && _gpuFree.Length == 0)
                return $"The run asks for {Format(request.Gpus)} GPUs but this local backend has none. Set CUDA_VISIBLE_DEVICES or NumGpus to the GPUs to use, or run without GPUs (-NumGpusPerTask 0).";
            if (gpuUnits > _gpuFree.Length * Unit)
                return $"The run asks for {Format(request.Gpus)} GPUs but this local backend has {_gpuFree.Length} ({string.Join(",", _gpuIds)}). Ask for fewer GPUs per task.";
            foreach (var kv in request.Resources)
            {
                if (_resourceCapacity.TryGetValue(kv.Key, out var capacity) && ToUnits(kv.Value) > capacity)
                    return $"The run asks for {Format(kv.Value)} of resource '{kv.Key}' but this local backend has {Format((double)capacity / Unit)}.";
            }
            return null;
        }

        /// <summary>Takes what the request needs, or nothing (null) when it does not fit right now.</summary>
        public SlotGrant? TryTake(SlotRequest request)
        {
            if (RunsInUse >= MaxRuns) return null;
            var cpuUnits = ToUnits(request.Cpus);
            if (cpuUnits > _cpuFree) return null;
            foreach (var kv in request.Resources)
                if (_resourceFree.TryGetValue(kv.Key, out var free) && ToUnits(kv.Value) > free) return null;
            var shares = PickGpus(ToUnits(request.Gpus));
            if (shares == null) return null;

            RunsInUse++;
            _cpuFree -= cpuUnits;
            foreach (var share in shares) _gpuFree[share.Key] -= share.Value;
            var taken = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var kv in request.Resources)
            {
                if (!_resourceFree.ContainsKey(kv.Key)) continue;
                var units = ToUnits(kv.Value);
                _resourceFree[kv.Key] -= units;
                taken[kv.Key] = units;
            }
            var ids = shares.Select(s => _gpuIds[s.Key]).ToList();
            return new SlotGrant(cpuUnits, shares, ids, taken);
        }

        public void Release(SlotGrant grant)
        {
            RunsInUse--;
            _cpuFree += grant.CpuUnits;
            foreach (var share in grant.GpuShares) _gpuFree[share.Key] += share.Value;
            foreach (var kv in grant.Resources) _resourceFree[kv.Key] += kv.Value;
        }

        List<KeyValuePair<int, long>>? PickGpus(long units)
        {
            var shares = new List<KeyValuePair<int, long>>();
            if (units == 0) return shares;
            if (units <= Unit)
            {
                // A fraction (or exactly one): first GPU with that much left.
                for (var i = 0; i < _gpuFree.Length; i++)
                {
                    if (_gpuFree[i] < units) continue;
                    shares.Add(new KeyValuePair<int, long>(i, units));
                    return shares;
                }
                return null;
            }
            var whole = units / Unit;
            for (var i = 0; i < _gpuFree.Length && shares.Count < whole; i++)
                if (_gpuFree[i] == Unit) shares.Add(new KeyValuePair<int, long>(i, Unit));
            return shares.Count == whole ? shares : null;
        }

        static bool IsAmount(double value) => value >= 0 && !double.IsInfinity(value);

        static long ToUnits(double amount) => (long)Math.Round(amount * Unit, MidpointRounding.AwayFromZero);

        static string Format(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
    }
}
