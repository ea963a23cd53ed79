using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace RayRunner.Core.Sweeps
{
    /// <summary>How config values read in labels, messages and reports: short, culture-free, unambiguous.</summary>
    public static class SweepValues
    {
        /// <summary>The value as a label shows it: text bare, numbers in their shortest invariant form.</summary>
        public static string Text(object? value, string? format = null) => value switch
        {
            null => "null",
            string s => s,
            bool b => b ? "true" : "false",
            long l => l.ToString(format ?? "D", CultureInfo.InvariantCulture),
            double d => d.ToString(format ?? "G6", CultureInfo.InvariantCulture),
            IReadOnlyDictionary<string, object?> map => RayRunnerJson.ConfigToJson(map),
            IEnumerable<object?> list => "[" + string.Join(", ", list.Select(v => Text(v, format))) + "]",
            IFormattable f => f.ToString(format, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };

        /// <summary>The value as an error message shows it: text quoted, so '' and 'null' stay apart.</summary>
        public static string Display(object? value) => value is string s ? "'" + s + "'" : Text(value, "R");

        /// <summary>A number for sorting and charts; null for text, booleans and missing values.</summary>
        public static double? AsNumber(object? value) => value switch
        {
            long l => l,
            int i => i,
            double d => d,
            float f => f,
            _ => null,
        };
    }
}
