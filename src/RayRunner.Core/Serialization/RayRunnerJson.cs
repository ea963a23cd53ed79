using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RayRunner.Core
{
    /// <summary>
    /// The one set of JSON settings RayRunner writes and reads with: snake_case on the wire (as the
    /// Python side and Ray use), nulls left out, human-readable output for the run store.
    /// </summary>
    public static class RayRunnerJson
    {
        public static JsonSerializerOptions Options { get; } = Create(indented: false);
        public static JsonSerializerOptions Indented { get; } = Create(indented: true);

        static JsonSerializerOptions Create(bool indented)
        {
            var options = new JsonSerializerOptions
            {
                PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
                DictionaryKeyPolicy = null, // config and metric keys are the user's: never renamed
                DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
                WriteIndented = indented,
                // Configs may carry any text; keep it readable in the store, and still valid JSON.
                Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
                // A diverged run reports loss = Infinity or NaN (Python's json writes them bare). They
                // are kept, as the strings "Infinity"/"NaN": refusing them made the result unwritable,
                // so the run was never recorded as finished.
                NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            };
            options.Converters.Add(new ConfigMapConverter());
            options.Converters.Add(new TaskInputConverter());
            return options;
        }

        public static string Serialize<T>(T value, bool indented = false) =>
            JsonSerializer.Serialize(value, indented ? Indented : Options);

        public static T? Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options);

        /// <summary>The config as one compact JSON text (the {config_json} placeholder).</summary>
        public static string ConfigToJson(IReadOnlyDictionary<string, object?> config) => ConfigJson.ToJson(config);

        /// <summary>Any normalized config value (a list, a number, ...) as compact JSON, e.g. for one table cell.</summary>
        public static string ValueToJson(object? value) => ConfigJson.ValueToJson(value);

        /// <summary>(De)serializes config maps in their normalized shape rather than as JsonElements.</summary>
        sealed class ConfigMapConverter : JsonConverter<IReadOnlyDictionary<string, object?>>
        {
            public override IReadOnlyDictionary<string, object?> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
            {
                using var doc = JsonDocument.ParseValue(ref reader);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("Expected a JSON object for a config.");
                return (Dictionary<string, object?>)ExperimentConfig.FromJson(doc.RootElement, "")!;
            }

            public override void Write(Utf8JsonWriter writer, IReadOnlyDictionary<string, object?> value, JsonSerializerOptions options) =>
                ConfigJson.Write(writer, value);
        }

        /// <summary>TaskInput has no parameterless constructor; spell its wire shape out once, here.</summary>
        sealed class TaskInputConverter : JsonConverter<TaskInput>
        {
            public override TaskInput Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
            {
                using var doc = JsonDocument.ParseValue(ref reader);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new JsonException("Expected a JSON object for a task input.");
                var config = root.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object
                    ? (Dictionary<string, object?>)ExperimentConfig.FromJson(c, "")!
                    : new Dictionary<string, object?>();
                var runId = root.TryGetProperty("run_id", out var r) ? r.GetString() ?? "" : "";
                var tags = new List<string>();
                if (root.TryGetProperty("additional_tags", out var t) && t.ValueKind == JsonValueKind.Array)
                    foreach (var tag in t.EnumerateArray()) tags.Add(tag.GetString() ?? "");
                return new TaskInput(config, runId)
                {
                    GpuTier = root.TryGetProperty("gpu_tier", out var g) ? g.GetString() ?? "local" : "local",
                    TimeoutSeconds = root.TryGetProperty("timeout_seconds", out var ts) && ts.TryGetInt32(out var secs) ? secs : 3600,
                    AdditionalTags = tags,
                };
            }

            public override void Write(Utf8JsonWriter writer, TaskInput value, JsonSerializerOptions options)
            {
                writer.WriteStartObject();
                writer.WritePropertyName("config");
                ConfigJson.Write(writer, value.Config);
                writer.WriteString("run_id", value.RunId);
                writer.WriteString("gpu_tier", value.GpuTier);
                writer.WriteNumber("timeout_seconds", value.TimeoutSeconds);
                writer.WriteStartArray("additional_tags");
                foreach (var tag in value.AdditionalTags) writer.WriteStringValue(tag);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
        }

        internal static string FormatNumber(double d) => d.ToString("R", CultureInfo.InvariantCulture);
    }
}
