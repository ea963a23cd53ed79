using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace RayRunner.Core.Sweeps.Report
{
    /// <summary>
    /// Maps data values to a 0..1 position along a chart axis and says where its ticks go: linear,
    /// log (for values spanning decades, such as learning rates) or categorical (text, booleans).
    /// </summary>
    internal abstract class PlotScale
    {
        /// <summary>Chooses a scale for the values of one column; null values are left out.</summary>
        public static PlotScale For(IEnumerable<object?> values)
        {
            var present = values.Where(v => v != null).ToList();
            var numbers = present.Select(SweepValues.AsNumber).ToList();
            if (present.Count > 0 && numbers.All(n => n is double d && !double.IsNaN(d) && !double.IsInfinity(d)))
            {
                var ds = numbers.Select(n => n!.Value).ToList();
                // A few whole numbers (seeds, epochs, layer counts) read best as their own ticks.
                var distinct = ds.Distinct().OrderBy(d => d).ToList();
                if (distinct.Count <= 12 && distinct.All(d => d == Math.Floor(d)))
                    return new CategoryScale(distinct.Select(d => SweepValues.Text((object?)d)).ToList());
                double min = ds.Min(), max = ds.Max();
                if (min > 0 && max / min >= 100) return new LogScale(min, max);
                return new LinearScale(min, max);
            }
            return new CategoryScale(present.Select(v => SweepValues.Text(v)).Distinct().ToList());
        }

        /// <summary>0 at the axis' start, 1 at its end; null when the value cannot be placed.</summary>
        public abstract double? Position(object? value);

        /// <summary>Tick positions (0..1) and their labels.</summary>
        public abstract IReadOnlyList<(double Position, string Label)> Ticks();

        public virtual string Describe => "";

        protected static string Format(double d) => d.ToString("G3", CultureInfo.InvariantCulture);
    }

    internal sealed class LinearScale : PlotScale
    {
        readonly double _min, _max;

        public LinearScale(double min, double max)
        {
            if (max - min < 1e-12 * Math.Max(1, Math.Abs(max)))
            {
                // One value: give it room, so it sits mid-axis with sensible ticks around it.
                var pad = Math.Abs(min) > 0 ? Math.Abs(min) * 0.5 : 1;
                min -= pad;
                max += pad;
            }
            var step = NiceStep((max - min) / 5);
            _min = Math.Floor(min / step) * step;
            _max = Math.Ceiling(max / step) * step;
            Step = step;
        }

        double Step { get; }

        public override double? Position(object? value) =>
            SweepValues.AsNumber(value) is double d && !double.IsNaN(d) && !double.IsInfinity(d) ? (d - _min) / (_max - _min) : null;

        public override IReadOnlyList<(double, string)> Ticks()
        {
            var ticks = new List<(double, string)>();
            for (var v = _min; v <= _max + Step / 2; v += Step)
                ticks.Add(((v - _min) / (_max - _min), Format(Math.Abs(v) < Step / 1e6 ? 0 : v)));
            return ticks;
        }

        static double NiceStep(double raw)
        {
            var exp = Math.Pow(10, Math.Floor(Math.Log10(raw)));
            var f = raw / exp;
            return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * exp;
        }
    }

    internal sealed class LogScale : PlotScale
    {
        readonly double _lo, _hi;

        public LogScale(double min, double max)
        {
            _lo = Math.Floor(Math.Log10(min));
            _hi = Math.Ceiling(Math.Log10(max));
            if (_hi <= _lo) _hi = _lo + 1;
        }

        public override string Describe => " (log scale)";

        public override double? Position(object? value) =>
            SweepValues.AsNumber(value) is double d && d > 0 && !double.IsInfinity(d) ? (Math.Log10(d) - _lo) / (_hi - _lo) : null;

        public override IReadOnlyList<(double, string)> Ticks()
        {
            var ticks = new List<(double, string)>();
            var every = Math.Max(1, (int)Math.Ceiling((_hi - _lo) / 6));
            for (var e = _lo; e <= _hi; e += every)
                ticks.Add(((e - _lo) / (_hi - _lo), Format(Math.Pow(10, e))));
            return ticks;
        }
    }

    internal sealed class CategoryScale : PlotScale
    {
        readonly List<string> _categories;

        public CategoryScale(List<string> categories) => _categories = categories;

        public int Count => _categories.Count;

        public override double? Position(object? value)
        {
            if (value == null) return null;
            var i = _categories.IndexOf(SweepValues.Text(value));
            return i < 0 ? null : (i + 0.5) / _categories.Count;
        }

        public override IReadOnlyList<(double, string)> Ticks() =>
            _categories.Select((c, i) => ((i + 0.5) / _categories.Count, c.Length > 18 ? "…" + c.Substring(c.Length - 17) : c)).ToList();
    }
}
