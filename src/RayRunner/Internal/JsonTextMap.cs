using System;
using System.Collections;
using System.Collections.Specialized;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// An ordered map that reads as compact JSON when turned into text. Export-Csv and string
    /// expansion call ToString on a property's value; a plain OrderedDictionary would write its
    /// type name ("System.Collections.Specialized.OrderedDictionary") instead of the config.
    /// </summary>
    public sealed class JsonTextMap : OrderedDictionary
    {
        readonly string _json;

        internal JsonTextMap(OrderedDictionary source, string json)
            : base(StringComparer.OrdinalIgnoreCase)
        {
            foreach (DictionaryEntry entry in source) this[entry.Key] = entry.Value;
            _json = json;
        }

        public override string ToString() => _json;
    }
}
