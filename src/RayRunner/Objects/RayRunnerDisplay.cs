using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Text for the module's views (RayRunner.Format.ps1xml): configs and metrics as one line of
    /// <c>name=value</c> settings. In C#, so the views stay one call each and the same text shows
    /// in the table (short) and in Format-List (complete).
    /// </summary>
    public static class RayRunnerDisplay
    {
        /// <summary>A config (nested maps) as <c>a.b=value</c> settings in config order, every one of them.</summary>
        public static string Settings(IDictionary? map) => Settings(map, compact: false);

        /// <summary>
        /// The swept settings for a table cell: numbers to four significant digits, so a random
        /// draw (lr=0.0014773698956926...) does not push the other settings out of an 80-column view.
        /// Format-List and the objects keep every digit.
        /// </summary>
        public static string CompactSettings(IDictionary? map) => Settings(map, compact: true);

        static string Settings(IDictionary? map, bool compact)
        {
            if (map == null || map.Count == 0) return "";
            var parts = new List<string>();
            Flatten(map, "", parts, compact);
            return string.Join(", ", parts);
        }

        /// <summary>
        /// Metrics in the order the run reported them (the experiment puts its main ones first).
        /// <paramref name="compact"/> rounds numbers to four significant digits, for the table;
        /// Format-List shows them whole.
        /// </summary>
        public static string Metrics(IDictionary? metrics, bool compact)
        {
            if (metrics == null || metrics.Count == 0) return "";
            var parts = new List<string>(metrics.Count);
            foreach (DictionaryEntry kv in metrics) parts.Add($"{kv.Key}={Value(kv.Value, compact)}");
            return string.Join(", ", parts);
        }

        /// <summary>
        /// A run's duration in at most 7 characters for the results table ("0.3s", "42.1s", "3m05s",
        /// "2h14m"), so the swept settings beside it get the room; Format-List shows the TimeSpan.
        /// </summary>
        public static string ShortDuration(object? duration)
        {
            if (!(duration is TimeSpan d)) return "";
            if (d.TotalSeconds < 60) return d.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s";
            if (d.TotalMinutes < 60) return $"{(int)d.TotalMinutes}m{d.Seconds:00}s";
            return $"{(int)d.TotalHours}h{d.Minutes:00}m";
        }

        /// <summary>
        /// What a run asked for, in one line for Format-List: "2 CPU, 1 GPU, 1 GiB memory, TPU=1"
        /// (the parameters' names: -NumCpus, -NumGpus, -Memory, -Resources); "nothing reserved" when the
        /// run asked for none; empty when nothing was recorded.
        /// </summary>
        public static string Requested(double? numCpus, double? numGpus, long? memory, IDictionary? resources)
        {
            var parts = new List<string>();
            if (numCpus is double c && c > 0) parts.Add(Value(c, compact: false) + " CPU");
            if (numGpus is double g && g > 0) parts.Add(Value(g, compact: false) + " GPU");
            if (memory is long m) parts.Add(Bytes(m) + " memory");
            if (resources != null)
                foreach (DictionaryEntry kv in resources.Cast<DictionaryEntry>().OrderBy(e => Convert.ToString(e.Key, CultureInfo.InvariantCulture), StringComparer.Ordinal))
                    parts.Add($"{kv.Key}={Value(kv.Value, compact: false)}");
            // A local run without -NumCpus reserves no CPU slot: say so rather than "0 CPU".
            return parts.Count > 0 ? string.Join(", ", parts) : numCpus.HasValue ? "nothing reserved" : "";
        }

        /// <summary>Bytes in the largest binary unit that keeps a short number: 1073741824 is "1 GiB", 1536 is "1.5 KiB".</summary>
        public static string Bytes(long bytes)
        {
            string[] units = { "B", "KiB", "MiB", "GiB", "TiB" };
            double value = bytes;
            var unit = 0;
            while (value >= 1024 && unit < units.Length - 1)
            {
                value /= 1024;
                unit++;
            }
            return value.ToString("0.##", CultureInfo.InvariantCulture) + " " + units[unit];
        }

        /// <summary>The table's last column of a result: its metrics, or why it has none.</summary>
        public static string Outcome(IDictionary? metrics, string? errorMessage)
        {
            var shown = Metrics(metrics, compact: true);
            if (shown.Length > 0 || string.IsNullOrEmpty(errorMessage)) return shown;
            var line = errorMessage!.Split('\n')[0].Trim();
            return "error: " + line;
        }

        static void Flatten(IDictionary map, string prefix, List<string> parts, bool compact)
        {
            foreach (DictionaryEntry kv in map)
            {
                var key = prefix.Length == 0 ? Convert.ToString(kv.Key, CultureInfo.InvariantCulture) : prefix + "." + kv.Key;
                if (kv.Value is IDictionary child && child.Count > 0) Flatten(child, key!, parts, compact);
                else parts.Add($"{key}={Value(NumberOrSelf(kv.Value, compact), compact)}");
            }
        }

        /// <summary>A swept value kept as text ("0.0014773698956926") is still a number to round for the table.</summary>
        static object? NumberOrSelf(object? value, bool compact) =>
            compact && value is string text && text.IndexOfAny(new[] { '.', 'e', 'E' }) >= 0
                && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                ? number : value;

        static string Value(object? value, bool compact) => value switch
        {
            null => "null",
            double d when compact => d.ToString("G4", CultureInfo.InvariantCulture),
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            float f => f.ToString(compact ? "G4" : "R", CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            string s => s,
            IDictionary map => "{" + Settings(map) + "}",
            IEnumerable list => "[" + string.Join(",", list.Cast<object?>().Select(v => Value(v, compact))) + "]",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
    }
}
