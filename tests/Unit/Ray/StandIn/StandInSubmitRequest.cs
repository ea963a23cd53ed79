using System;
using System.Collections.Generic;
using System.Text.Json;

namespace RayRunner.Tests.Unit.Ray.StandIn
{
    /// <summary>
    /// A POST /api/jobs/ body read as Ray reads it (JobSubmitRequest and its __post_init__ checks):
    /// null-valued keys dropped, unknown keys refused, and every field of the wrong JSON type
    /// refused with Ray's TypeError line, never coerced.
    /// </summary>
    internal sealed class StandInSubmitRequest
    {
        public string Entrypoint { get; private set; } = "";
        public string? SubmissionId { get; private set; }
        public Dictionary<string, string> EnvVars { get; } = new();
        public Dictionary<string, string> Metadata { get; } = new();
        public Dictionary<string, double> Resources { get; } = new();
        public string? WorkingDir { get; private set; }
        public string RuntimeEnvJson { get; private set; } = "{}";
        public double NumCpus { get; private set; }
        public double NumGpus { get; private set; }
        public long MemoryBytes { get; private set; }

        /// <summary>The request, or null with <paramref name="error"/> set to the line Ray's 400 ends with.</summary>
        public static StandInSubmitRequest? Read(JsonElement root, ISet<string> knownFields, out string? error)
        {
            error = null;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "TypeError: JobSubmitRequest argument after ** must be a mapping";
                return null;
            }
            var request = new StandInSubmitRequest();
            foreach (var p in root.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.Null) continue; // the server drops null-valued keys
                if (!knownFields.Contains(p.Name))
                {
                    error = $"TypeError: JobSubmitRequest.__init__() got an unexpected keyword argument '{p.Name}'";
                    return null;
                }
                error = request.Take(p.Name, p.Value);
                if (error != null) return null;
            }
            if (!root.TryGetProperty("entrypoint", out var ep) || ep.ValueKind != JsonValueKind.String)
            {
                error = "TypeError: JobSubmitRequest.__init__() missing 1 required positional argument: 'entrypoint'";
                return null;
            }
            return request;
        }

        string? Take(string name, JsonElement value)
        {
            switch (name)
            {
                case "entrypoint":
                    if (value.ValueKind != JsonValueKind.String) return WrongType(name, "a string", value);
                    Entrypoint = value.GetString()!;
                    return null;
                case "submission_id":
                case "job_id":
                    if (value.ValueKind != JsonValueKind.String) return WrongType(name, "a string", value);
                    SubmissionId ??= value.GetString();
                    return null;
                case "entrypoint_num_cpus":
                case "entrypoint_num_gpus":
                    if (value.ValueKind != JsonValueKind.Number) return WrongType(name, "a number", value);
                    if (name == "entrypoint_num_cpus") NumCpus = value.GetDouble(); else NumGpus = value.GetDouble();
                    return null;
                case "entrypoint_memory":
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var memory)) return WrongType(name, "an integer", value);
                    MemoryBytes = memory;
                    return null;
                case "metadata":
                    return ReadStringMap(name, value, Metadata);
                case "entrypoint_label_selector":
                    return ReadStringMap(name, value, new Dictionary<string, string>());
                case "entrypoint_resources":
                    if (value.ValueKind != JsonValueKind.Object) return WrongType(name, "a dict", value);
                    foreach (var p in value.EnumerateObject())
                    {
                        if (p.Value.ValueKind != JsonValueKind.Number) return $"TypeError: entrypoint_resources values must be numbers, got {PythonType(p.Value)}";
                        Resources[p.Name] = p.Value.GetDouble();
                    }
                    return null;
                case "runtime_env":
                    return ReadRuntimeEnv(value);
                default:
                    return null;
            }
        }

        string? ReadRuntimeEnv(JsonElement value)
        {
            if (value.ValueKind != JsonValueKind.Object) return WrongType("runtime_env", "a dict", value);
            RuntimeEnvJson = value.GetRawText();
            if (value.TryGetProperty("env_vars", out var ev) && ev.ValueKind != JsonValueKind.Null)
            {
                if (ev.ValueKind != JsonValueKind.Object) return WrongType("runtime_env.env_vars", "a dict", ev);
                foreach (var p in ev.EnumerateObject())
                {
                    if (p.Value.ValueKind != JsonValueKind.String) return $"TypeError: env_vars values must be strings, got {PythonType(p.Value)} for '{p.Name}'";
                    EnvVars[p.Name] = p.Value.GetString()!;
                }
            }
            if (value.TryGetProperty("working_dir", out var wd) && wd.ValueKind != JsonValueKind.Null)
            {
                if (wd.ValueKind != JsonValueKind.String) return WrongType("runtime_env.working_dir", "a string", wd);
                WorkingDir = wd.GetString();
            }
            return null;
        }

        static string? ReadStringMap(string name, JsonElement value, Dictionary<string, string> into)
        {
            if (value.ValueKind != JsonValueKind.Object) return WrongType(name, "a dict", value);
            foreach (var p in value.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) return $"TypeError: {name} values must be strings, got {PythonType(p.Value)} for '{p.Name}'";
                into[p.Name] = p.Value.GetString()!;
            }
            return null;
        }

        static string WrongType(string name, string wanted, JsonElement got) => $"TypeError: {name} must be {wanted}, got {PythonType(got)}";

        static string PythonType(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.String => "<class 'str'>",
            JsonValueKind.Number => e.TryGetInt64(out _) ? "<class 'int'>" : "<class 'float'>",
            JsonValueKind.True or JsonValueKind.False => "<class 'bool'>",
            JsonValueKind.Array => "<class 'list'>",
            JsonValueKind.Object => "<class 'dict'>",
            _ => "<class 'NoneType'>",
        };
    }
}
