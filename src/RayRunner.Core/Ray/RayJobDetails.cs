using System;
using System.Collections.Generic;
using System.Text.Json;

namespace RayRunner.Core.Ray
{
    /// <summary>Ray's JobStatus strings and what RayRunner calls them (design.md).</summary>
    public static class RayJobStatus
    {
        public const string Pending = "PENDING";
        public const string Running = "RUNNING";
        public const string Stopped = "STOPPED";
        public const string Succeeded = "SUCCEEDED";
        public const string Failed = "FAILED";

        /// <summary>STOPPED, SUCCEEDED and FAILED never change once reached.</summary>
        public static bool IsTerminal(string? status) => status == Stopped || status == Succeeded || status == Failed;

        /// <summary>PENDING→pending, RUNNING→running, SUCCEEDED→completed, FAILED→failed, STOPPED→cancelled.</summary>
        public static string ToRunStatus(string? status) => status switch
        {
            Pending => RunStatus.Pending,
            Running => RunStatus.Running,
            Succeeded => RunStatus.Completed,
            Failed => RunStatus.Failed,
            Stopped => RunStatus.Cancelled,
            _ => RunStatus.Unknown,
        };
    }

    /// <summary>The fields of Ray's JobDetails that RayRunner reads (times are Unix epoch milliseconds).</summary>
    public sealed class RayJobDetails
    {
        public string? Type { get; init; }
        public string? JobId { get; init; }
        public string? SubmissionId { get; init; }
        public string Status { get; init; } = "";
        public string? Entrypoint { get; init; }
        public string? Message { get; init; }
        public string? ErrorType { get; init; }
        public long? StartTime { get; init; }
        public long? EndTime { get; init; }
        public int? DriverExitCode { get; init; }
        public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

        public bool IsTerminal => RayJobStatus.IsTerminal(Status);

        public DateTimeOffset? StartedAt => StartTime is long ms && ms > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : (DateTimeOffset?)null;
        public DateTimeOffset? EndedAt => EndTime is long ms && ms > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : (DateTimeOffset?)null;

        /// <summary>Reads one JobDetails object; unknown fields are ignored, missing ones stay null.</summary>
        public static RayJobDetails FromJson(JsonElement e)
        {
            if (e.ValueKind != JsonValueKind.Object) throw new JsonException("A Ray JobDetails must be a JSON object.");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (e.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object)
                foreach (var p in m.EnumerateObject())
                    metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            return new RayJobDetails
            {
                Type = Str(e, "type"),
                JobId = Str(e, "job_id"),
                SubmissionId = Str(e, "submission_id"),
                Status = Str(e, "status") ?? "",
                Entrypoint = Str(e, "entrypoint"),
                Message = Str(e, "message"),
                ErrorType = Str(e, "error_type"),
                StartTime = Long(e, "start_time"),
                EndTime = Long(e, "end_time"),
                DriverExitCode = Long(e, "driver_exit_code") is long code ? (int)code : (int?)null,
                Metadata = metadata,
            };
        }

        static string? Str(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        static long? Long(JsonElement e, string name)
        {
            if (!e.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Number) return null;
            if (v.TryGetInt64(out var l)) return l;
            return (long)v.GetDouble();
        }
    }

    /// <summary>GET /api/version: the Jobs API version ("4") and the Ray release ("2.49.1").</summary>
    public sealed class RayVersionInfo
    {
        public RayVersionInfo(string apiVersion, string rayVersion)
        {
            ApiVersion = apiVersion;
            RayVersion = rayVersion;
            Ray = ParseLoose(rayVersion);
            int.TryParse(apiVersion, out var api);
            Api = api;
        }

        public string ApiVersion { get; }
        public string RayVersion { get; }
        /// <summary>The release as a comparable version; 0.0 when unreadable (then only the oldest fields are sent).</summary>
        public Version Ray { get; }
        public int Api { get; }

        // The SDK's minimums (dashboard_sdk.py), checked against ray_version, not the API version.
        public bool SupportsJobs => Ray >= new Version(1, 9);
        public bool SupportsSubmissionId => Ray >= new Version(2, 0);
        public bool SupportsEntrypointResources => Ray >= new Version(2, 2);
        public bool SupportsEntrypointMemory => Ray >= new Version(2, 8);
        /// <summary>DELETE arrived with Jobs API version 4.</summary>
        public bool SupportsDelete => Api >= 4;

        /// <summary>"2.49.1", "3.0.0.dev0", "2.10.0rc1": the leading numbers count.</summary>
        internal static Version ParseLoose(string? text)
        {
            var parts = new List<int>();
            if (text != null)
            {
                foreach (var piece in text.Split('.'))
                {
                    var digits = 0;
                    while (digits < piece.Length && char.IsDigit(piece[digits])) digits++;
                    if (digits == 0 || !int.TryParse(piece.Substring(0, digits), out var n)) break;
                    parts.Add(n);
                    if (digits < piece.Length || parts.Count == 3) break;
                }
            }
            while (parts.Count < 2) parts.Add(0);
            return parts.Count == 2 ? new Version(parts[0], parts[1]) : new Version(parts[0], parts[1], parts[2]);
        }
    }
}
