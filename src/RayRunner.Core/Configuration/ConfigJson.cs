using System.Collections.Generic;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RayRunner.Core
{
    /// <summary>
    /// Writes normalized configs (see <see cref="ExperimentConfig"/>) as JSON. It lives with the
    /// configs, not in Serialization, so that Serialization depends on Configuration and never the
    /// other way round.
    /// </summary>
    internal static class ConfigJson
    {
        /// <summary>Writes a normalized config value (see <see cref="ExperimentConfig"/>) as JSON.</summary>
        public static void Write(Utf8JsonWriter writer, object? value)
        {
            switch (value)
            {
                case null: writer.WriteNullValue(); break;
                case string s: writer.WriteStringValue(s); break;
                case bool b: writer.WriteBooleanValue(b); break;
                case long l: writer.WriteNumberValue(l); break;
                case int i: writer.WriteNumberValue(i); break;
                case double d: writer.WriteNumberValue(d); break;
                case IReadOnlyDictionary<string, object?> map:
                    writer.WriteStartObject();
                    foreach (var kv in map)
                    {
                        writer.WritePropertyName(kv.Key);
                        Write(writer, kv.Value);
                    }
                    writer.WriteEndObject();
                    break;
                case IEnumerable<object?> list:
                    writer.WriteStartArray();
                    foreach (var item in list) Write(writer, item);
                    writer.WriteEndArray();
                    break;
                default:
                    throw new JsonException($"Unexpected config value of type {value.GetType()}: configs must be normalized first.");
            }
        }

        /// <summary>The config as one compact JSON text (the {config_json} placeholder).</summary>
        public static string ToJson(IReadOnlyDictionary<string, object?> config) => ValueToJson(config);

        /// <summary>Any normalized config value (a map, a list, a number, ...) as compact JSON.</summary>
        public static string ValueToJson(object? config)
        {
            using var buffer = new System.IO.MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                Write(writer, config);
            return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        }
    }
}
