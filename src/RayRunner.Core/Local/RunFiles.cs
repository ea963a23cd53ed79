using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// The files through which a run can be found again by any process: its log, the claim the
    /// run's own process makes before anything runs (<c>.started</c>, holding its pid), the pid file
    /// its host writes once it has started it, the exit file (written when it ends) and the cancel
    /// marker. They sit side by side: <c>run.log</c>, <c>run.started</c>, <c>run.pid</c>,
    /// <c>run.exit</c>, <c>run.cancel</c>.
    /// </summary>
    internal sealed class RunFiles
    {
        public RunFiles(string log, string exit, string pid, string cancel, string? started = null)
        {
            Log = log;
            Exit = exit;
            Pid = pid;
            Cancel = cancel;
            Started = started ?? Sibling(Path.GetFullPath(log), ".started");
        }

        public string Log { get; }
        public string Exit { get; }
        public string Pid { get; }
        public string Cancel { get; }
        /// <summary>
        /// Created, exclusively, by the run's process itself before the command runs: of two
        /// launches of one run (a host that died right after starting it, and a process that took
        /// the run over), only the one that creates this file runs the command.
        /// </summary>
        public string Started { get; }

        public static RunFiles ForLog(string logPath)
        {
            var full = Path.GetFullPath(logPath);
            return new RunFiles(full, Sibling(full, ".exit"), Sibling(full, ".pid"), Sibling(full, ".cancel"), Sibling(full, ".started"));
        }

        static string Sibling(string log, string extension)
        {
            var stem = Path.GetExtension(log).Length > 0 ? Path.ChangeExtension(log, null) : log;
            return stem + extension;
        }

        /// <summary>Has this run been started (or settled) before, by anyone?</summary>
        public bool Exists => File.Exists(Started) || File.Exists(Pid) || File.Exists(Exit);

        /// <summary>The pid of the process that claimed the run (see <see cref="Started"/>), or null before any did.</summary>
        public int? ReadStartedPid()
        {
            var text = AtomicFile.TryRead(Started);
            return text != null && int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? pid : (int?)null;
        }

        /// <summary>
        /// Creates the folder and an empty log, so the log can be read from the moment of submission.
        /// The log is private (0600 on Unix, as the run store promises) before the run writes a byte:
        /// the run's own shell only appends to it, so it keeps these permissions.
        /// </summary>
        public void Prepare()
        {
            var folder = Path.GetDirectoryName(Log)!;
            if (!Directory.Exists(folder)) PrivateFiles.CreateFolder(folder);
            PrivateFiles.Touch(Log);
        }

        /// <summary>Adds a line of RayRunner's own to the log (why a run could not start, and so on).</summary>
        public void AppendToLog(string line)
        {
            try
            {
                using var stream = new FileStream(Log, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
                var bytes = Encoding.UTF8.GetBytes("RayRunner: " + line + "\n");
                stream.Write(bytes, 0, bytes.Length);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        public void WritePid(int pid, string? identity, DateTimeOffset startedAt) =>
            AtomicFile.Write(Pid, string.Join(" ",
                pid.ToString(CultureInfo.InvariantCulture),
                string.IsNullOrEmpty(identity) ? "-" : identity,
                startedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)) + "\n");

        public PidRecord? ReadPid()
        {
            var text = AtomicFile.TryRead(Pid);
            if (text == null) return null;
            var parts = text.Trim().Split(' ');
            if (parts.Length < 3
                || !int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid)
                || !long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms))
                return null;
            return new PidRecord(pid, parts[1] == "-" ? null : parts[1], DateTimeOffset.FromUnixTimeMilliseconds(ms));
        }

        /// <summary>The recorded end of the run, or null while there is none (an empty file is one being written).</summary>
        public ExitRecord? ReadExit()
        {
            var text = AtomicFile.TryRead(Exit)?.Trim();
            if (string.IsNullOrEmpty(text)) return null;
            DateTimeOffset? at = null;
            try { at = File.GetLastWriteTimeUtc(Exit); }
            catch (IOException) { }
            if (text == ExitRecord.CancelledWord) return ExitRecord.Cancelled(at);
            if (text == ExitRecord.StartFailedWord) return ExitRecord.StartFailed(at);
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var code)
                ? ExitRecord.FromCode(code, at)
                : null;
        }

        /// <summary>Records the end unless the run's own launcher already did (the first record wins).</summary>
        public void WriteExitIfAbsent(string content)
        {
            if (ReadExit() != null) return;
            AtomicFile.Write(Exit, content + "\n");
        }

        public bool IsCancelled => File.Exists(Cancel);

        public void MarkCancelled() => AtomicFile.Write(Cancel, DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture) + "\n");
    }

    internal sealed class PidRecord
    {
        public PidRecord(int pid, string? identity, DateTimeOffset startedAt)
        {
            ProcessId = pid;
            Identity = identity;
            StartedAt = startedAt;
        }

        public int ProcessId { get; }
        public string? Identity { get; }
        public DateTimeOffset StartedAt { get; }
    }

    /// <summary>How a run ended, as recorded in its exit file: an exit code, a cancel, or a failure to start.</summary>
    internal sealed class ExitRecord
    {
        public const string CancelledWord = "cancelled";
        public const string StartFailedWord = "start-failed";

        ExitRecord(int? code, bool cancelled, bool startFailed, DateTimeOffset? at)
        {
            Code = code;
            IsCancelled = cancelled;
            IsStartFailure = startFailed;
            RecordedAt = at;
        }

        public int? Code { get; }
        public bool IsCancelled { get; }
        public bool IsStartFailure { get; }
        public DateTimeOffset? RecordedAt { get; }

        public static ExitRecord FromCode(int code, DateTimeOffset? at = null) => new ExitRecord(code, false, false, at);
        public static ExitRecord Cancelled(DateTimeOffset? at = null) => new ExitRecord(null, true, false, at);
        public static ExitRecord StartFailed(DateTimeOffset? at = null) => new ExitRecord(null, false, true, at);
    }

    /// <summary>Whole-file writes that a reader in another process never sees half done.</summary>
    internal static class AtomicFile
    {
        public static void Write(string path, string content)
        {
            var temp = path + ".tmp-" + Guid.NewGuid().ToString("N").Substring(0, 8);
            File.WriteAllText(temp, content, new UTF8Encoding(false));
            try
            {
                if (File.Exists(path)) File.Replace(temp, path, null);
                else File.Move(temp, path);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Appeared between the check and the move: replace it (rename is atomic on Unix).
                File.Replace(temp, path, null);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
        }

        public static string? TryRead(string path)
        {
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream, Encoding.UTF8);
                return reader.ReadToEnd();
            }
            catch (FileNotFoundException) { return null; }
            catch (DirectoryNotFoundException) { return null; }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
        }
    }
}
