using System;
using System.Collections.Generic;
using System.Globalization;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// What a local run's <see cref="TaskRef.Locator"/> holds: enough for any process, later, to
    /// find the run again, watch it, stop it and read its result, without the process that started it.
    /// </summary>
    /// <remarks>
    /// Keys: <c>log</c>, <c>exit_file</c>, <c>pid_file</c>, <c>cancel_file</c> (the run's files);
    /// <c>pid</c> and <c>process_start</c> (the root process and its start time, so a reused pid is
    /// not mistaken for the run; only when the run started at submission, else they are in the pid
    /// file); <c>host_pid</c> and <c>host_start</c> (the process that started it, to tell a run still
    /// waiting for a slot from one whose host died); <c>mode</c> (detached or piped); <c>session</c>
    /// ("1" when the root leads its own session); <c>program</c> (for messages).
    /// </remarks>
    internal sealed class LocalLocator
    {
        public const string LogKey = "log";
        public const string ExitFileKey = "exit_file";
        public const string PidFileKey = "pid_file";
        public const string CancelFileKey = "cancel_file";
        public const string StartedFileKey = "started_file";
        public const string PidKey = "pid";
        public const string ProcessStartKey = "process_start";
        public const string HostPidKey = "host_pid";
        public const string HostStartKey = "host_start";
        public const string ModeKey = "mode";
        public const string SessionKey = "session";
        public const string ProgramKey = "program";

        public RunFiles Files { get; set; } = null!;
        public int? Pid { get; set; }
        public string? ProcessStart { get; set; }
        public int? HostPid { get; set; }
        public string? HostStart { get; set; }
        public LaunchMode Mode { get; set; }
        public bool Session { get; set; }
        public string Program { get; set; } = "The command";

        public IReadOnlyDictionary<string, string> ToDictionary()
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [LogKey] = Files.Log,
                [ExitFileKey] = Files.Exit,
                [PidFileKey] = Files.Pid,
                [CancelFileKey] = Files.Cancel,
                [StartedFileKey] = Files.Started,
                [ModeKey] = Mode == LaunchMode.Detached ? "detached" : "piped",
                [SessionKey] = Session ? "1" : "0",
                [ProgramKey] = Program,
            };
            if (Pid.HasValue) map[PidKey] = Pid.Value.ToString(CultureInfo.InvariantCulture);
            if (!string.IsNullOrEmpty(ProcessStart)) map[ProcessStartKey] = ProcessStart!;
            if (HostPid.HasValue) map[HostPidKey] = HostPid.Value.ToString(CultureInfo.InvariantCulture);
            if (!string.IsNullOrEmpty(HostStart)) map[HostStartKey] = HostStart!;
            return map;
        }

        /// <summary>Reads a locator back; null when the reference does not carry the run's files.</summary>
        public static LocalLocator? From(IReadOnlyDictionary<string, string> map)
        {
            if (!map.TryGetValue(LogKey, out var log) || string.IsNullOrEmpty(log)) return null;
            var derived = RunFiles.ForLog(log);
            var files = new RunFiles(
                log,
                Get(map, ExitFileKey) ?? derived.Exit,
                Get(map, PidFileKey) ?? derived.Pid,
                Get(map, CancelFileKey) ?? derived.Cancel,
                Get(map, StartedFileKey) ?? derived.Started);
            return new LocalLocator
            {
                Files = files,
                Pid = Int(map, PidKey),
                ProcessStart = Get(map, ProcessStartKey),
                HostPid = Int(map, HostPidKey),
                HostStart = Get(map, HostStartKey),
                Mode = Get(map, ModeKey) == "piped" ? LaunchMode.Piped : LaunchMode.Detached,
                Session = Get(map, SessionKey) == "1",
                Program = Get(map, ProgramKey) ?? "The command",
            };
        }

        static string? Get(IReadOnlyDictionary<string, string> map, string key) =>
            map.TryGetValue(key, out var value) && !string.IsNullOrEmpty(value) ? value : null;

        static int? Int(IReadOnlyDictionary<string, string> map, string key) =>
            int.TryParse(Get(map, key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : (int?)null;
    }
}
