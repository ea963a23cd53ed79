using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace RayRunner.Core
{
    /// <summary>
    /// Reads one <see cref="RunSummary"/> line of the listing index with <see cref="Utf8JsonReader"/>
    /// directly. The lines are written by <see cref="System.Text.Json.JsonSerializer"/> (snake_case);
    /// reading them by hand takes about half the time of the serializer's reflection path, and a
    /// new session parses 10,000 of them before it can list anything.
    /// </summary>
    /// <remarks>
    /// Unknown properties are skipped (a later format-2 writer may add some); a line that is not one
    /// JSON object, or whose known properties have the wrong type, is null (a damaged line).
    /// </remarks>
    internal static class RunSummaryReader
    {
        /// <summary>
        /// MethodImplOptions.AggressiveOptimization (not named in netstandard2.0; ignored by .NET
        /// Framework): compiled optimized at once. Without it a new session runs these loops as
        /// unoptimized tier-0 code for its first 10,000 lines, which cost as much as the serializer's
        /// precompiled path.
        /// </summary>
        internal const MethodImplOptions Hot = (MethodImplOptions)512;

        [MethodImpl(Hot)]
        public static RunSummary? TryRead(ReadOnlySpan<byte> utf8)
        {
            try
            {
                var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
                var summary = ReadSummary(ref reader);
                // Nothing may follow the object on its line.
                return summary != null && !reader.Read() ? summary : null;
            }
            catch (Exception ex) when (ex is JsonException || ex is InvalidOperationException || ex is FormatException)
            {
                return null;
            }
        }

        [MethodImpl(Hot)]
        static RunSummary? ReadSummary(ref Utf8JsonReader reader)
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            string runId = "", stamp = "", status = RunStatus.Queued, configHash = "", backend = "", entrypoint = "";
            string? resultStatus = null, sweepId = null, error = null;
            DateTimeOffset createdAt = default;
            DateTimeOffset? startedAt = null, completedAt = null;
            bool errorCut = false, submitted = false;
            IReadOnlyList<string>? tags = null;
            ProcessIdentity? owner = null;
            DispatchClaim? claim = null;
            var attempt = 1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("run_id"u8)) runId = String(ref reader) ?? "";
                else if (reader.ValueTextEquals("stamp"u8)) stamp = String(ref reader) ?? "";
                else if (reader.ValueTextEquals("status"u8)) status = String(ref reader) ?? RunStatus.Queued;
                else if (reader.ValueTextEquals("result_status"u8)) resultStatus = String(ref reader);
                else if (reader.ValueTextEquals("sweep_id"u8)) sweepId = String(ref reader);
                else if (reader.ValueTextEquals("config_hash"u8)) configHash = String(ref reader) ?? "";
                else if (reader.ValueTextEquals("backend"u8)) backend = String(ref reader) ?? "";
                else if (reader.ValueTextEquals("entrypoint"u8)) entrypoint = String(ref reader) ?? "";
                else if (reader.ValueTextEquals("created_at"u8)) createdAt = Time(ref reader) ?? default;
                else if (reader.ValueTextEquals("started_at"u8)) startedAt = Time(ref reader);
                else if (reader.ValueTextEquals("completed_at"u8)) completedAt = Time(ref reader);
                else if (reader.ValueTextEquals("error"u8)) error = String(ref reader);
                else if (reader.ValueTextEquals("error_cut"u8)) errorCut = Bool(ref reader);
                else if (reader.ValueTextEquals("tags"u8)) tags = Strings(ref reader);
                else if (reader.ValueTextEquals("owner"u8)) owner = Process(ref reader);
                else if (reader.ValueTextEquals("claim"u8)) claim = Claim(ref reader);
                else if (reader.ValueTextEquals("submitted"u8)) submitted = Bool(ref reader);
                else if (reader.ValueTextEquals("attempt"u8)) attempt = Int(ref reader);
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject) return null;
            return new RunSummary
            {
                RunId = runId, Stamp = stamp, Status = status, ResultStatus = resultStatus, SweepId = sweepId,
                ConfigHash = configHash, Backend = backend, Entrypoint = entrypoint, CreatedAt = createdAt,
                StartedAt = startedAt, CompletedAt = completedAt, Error = error, ErrorCut = errorCut, Tags = tags,
                Owner = owner, Claim = claim, Submitted = submitted, Attempt = attempt,
            };
        }

        [MethodImpl(Hot)]
        static string? String(ref Utf8JsonReader reader)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.Null) return null;
            if (reader.TokenType != JsonTokenType.String) throw new JsonException("expected a string");
            return reader.GetString();
        }

        [MethodImpl(Hot)]
        static DateTimeOffset? Time(ref Utf8JsonReader reader)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.Null) return null;
            return reader.GetDateTimeOffset();
        }

        [MethodImpl(Hot)]
        static bool Bool(ref Utf8JsonReader reader)
        {
            reader.Read();
            return reader.GetBoolean();
        }

        [MethodImpl(Hot)]
        static int Int(ref Utf8JsonReader reader)
        {
            reader.Read();
            return reader.GetInt32();
        }

        [MethodImpl(Hot)]
        static IReadOnlyList<string>? Strings(ref Utf8JsonReader reader)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.Null) return null;
            if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("expected a list");
            var list = new List<string>();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                list.Add(reader.GetString() ?? throw new JsonException("expected a string"));
            return list;
        }

        [MethodImpl(Hot)]
        static ProcessIdentity? Process(ref Utf8JsonReader reader)
        {
            reader.Read();
            return ProcessBody(ref reader);
        }

        /// <summary>A process identity whose start token (StartObject or Null) is the current one.</summary>
        [MethodImpl(Hot)]
        static ProcessIdentity? ProcessBody(ref Utf8JsonReader reader)
        {
            if (reader.TokenType == JsonTokenType.Null) return null;
            if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("expected an object");
            int pid = 0;
            string startTime = "", host = "";
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("pid"u8)) pid = Int(ref reader);
                else if (reader.ValueTextEquals("start_time"u8)) startTime = String(ref reader) ?? "";
                else if (reader.ValueTextEquals("host"u8)) host = String(ref reader) ?? "";
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            return new ProcessIdentity { Pid = pid, StartTime = startTime, Host = host };
        }

        [MethodImpl(Hot)]
        static DispatchClaim? Claim(ref Utf8JsonReader reader)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.Null) return null;
            if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("expected an object");
            ProcessIdentity? by = null;
            DateTimeOffset at = default;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("by"u8)) by = Process(ref reader);
                else if (reader.ValueTextEquals("at"u8)) at = Time(ref reader) ?? default;
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            return new DispatchClaim { By = by ?? new ProcessIdentity(), At = at };
        }
    }
}
