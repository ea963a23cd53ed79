using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace RayRunner.Core.Sweeps
{
    /// <summary>How values of a range are drawn by a random sweep.</summary>
    public enum RangeKind
    {
        /// <summary>Any real number between low and high, evenly.</summary>
        Uniform,
        /// <summary>Between low and high, evenly in log space (learning rates, weight decays); both above 0.</summary>
        LogUniform,
        /// <summary>A whole number from low to high, both included.</summary>
        Integer,
    }

    /// <summary>
    /// The values one swept key may take: a list (for grids and random draws) or a range (random
    /// draws only). Written in a sweep as a list (<c>[0.1, 0.01]</c>) or as a map
    /// <c>{low: 1e-4, high: 1e-1, distribution: loguniform}</c>.
    /// </summary>
    public abstract class ParameterDomain
    {
        /// <summary>The keys a range map may have; any other map is a plain value.</summary>
        static readonly HashSet<string> RangeKeys = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "low", "high", "distribution" };

        /// <summary>Reads a domain from a normalized config value (see <see cref="ExperimentConfig"/>).</summary>
        public static ParameterDomain From(string key, object? value)
        {
            switch (value)
            {
                case List<object?> list:
                    if (list.Count == 0)
                        throw new SweepDefinitionException(SweepProblem.Empty,
                            $"The values of '{key}' are an empty list, so the sweep would have no configs. Give at least one value, or leave '{key}' out.", key);
                    return new ValueList(list);
                case Dictionary<string, object?> map when map.Count > 0 && map.Keys.All(RangeKeys.Contains):
                    return RangeDomain.From(key, map);
                default:
                    // A single value is a list of one: the key is set, not swept.
                    return new ValueList(new List<object?> { value });
            }
        }

        /// <summary>True when the domain can be listed (a grid needs that).</summary>
        public abstract bool IsList { get; }

        /// <summary>One value drawn with <paramref name="rng"/>.</summary>
        internal abstract object? Draw(SplitMix64 rng);
    }

    /// <summary>An explicit list of values, swept in the order given.</summary>
    public sealed class ValueList : ParameterDomain
    {
        public ValueList(IReadOnlyList<object?> values) => Values = values;

        public IReadOnlyList<object?> Values { get; }
        public override bool IsList => true;
        internal override object? Draw(SplitMix64 rng) => Values[rng.NextIndex(Values.Count)];
    }

    /// <summary>A range of numbers for random sweeps.</summary>
    public sealed class RangeDomain : ParameterDomain
    {
        public RangeDomain(RangeKind kind, double low, double high)
        {
            Kind = kind;
            Low = low;
            High = high;
        }

        public RangeKind Kind { get; }
        public double Low { get; }
        public double High { get; }
        public override bool IsList => false;

        internal static RangeDomain From(string key, Dictionary<string, object?> map)
        {
            var example = $"{{low: 0.0001, high: 0.1, distribution: loguniform}}";
            double Bound(string name)
            {
                var entry = map.FirstOrDefault(kv => string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase));
                if (entry.Key == null)
                    throw new SweepDefinitionException(SweepProblem.Invalid, $"The range of '{key}' has no '{name}'. Write a range as {example}.", key);
                return entry.Value switch
                {
                    long l => l,
                    double d when !double.IsNaN(d) && !double.IsInfinity(d) => d,
                    _ => throw new SweepDefinitionException(SweepProblem.Invalid,
                        $"The '{name}' of the range of '{key}' is not a finite number. Write a range as {example}.", key),
                };
            }

            var low = Bound("low");
            var high = Bound("high");
            var kindText = map.FirstOrDefault(kv => string.Equals(kv.Key, "distribution", StringComparison.OrdinalIgnoreCase)).Value as string ?? "uniform";
            var kind = kindText.Replace("_", "").Replace("-", "").ToLowerInvariant() switch
            {
                "uniform" => RangeKind.Uniform,
                "loguniform" or "log" => RangeKind.LogUniform,
                "int" or "integer" or "randint" => RangeKind.Integer,
                _ => throw new SweepDefinitionException(SweepProblem.Invalid,
                    $"The range of '{key}' has distribution '{kindText}'. Use uniform, loguniform or integer.", key),
            };
            if (low > high)
                throw new SweepDefinitionException(SweepProblem.Invalid, $"The range of '{key}' has low {Text(low)} above high {Text(high)}. Swap them.", key);
            if (kind == RangeKind.LogUniform && low <= 0)
                throw new SweepDefinitionException(SweepProblem.Invalid, $"The loguniform range of '{key}' starts at {Text(low)}; a log-uniform range needs low above 0.", key);
            if (kind == RangeKind.Integer && (low != Math.Floor(low) || high != Math.Floor(high)))
                throw new SweepDefinitionException(SweepProblem.Invalid, $"The integer range of '{key}' has a bound that is not a whole number ({Text(low)}, {Text(high)}).", key);
            return new RangeDomain(kind, low, high);
        }

        internal override object? Draw(SplitMix64 rng)
        {
            switch (Kind)
            {
                case RangeKind.Integer:
                    var span = (long)High - (long)Low + 1;
                    return (long)Low + (long)(rng.NextDouble() * span);
                case RangeKind.LogUniform:
                    return Math.Exp(Math.Log(Low) + rng.NextDouble() * (Math.Log(High) - Math.Log(Low)));
                default:
                    return Low + rng.NextDouble() * (High - Low);
            }
        }

        static string Text(double d) => d.ToString("R", CultureInfo.InvariantCulture);
    }
}
