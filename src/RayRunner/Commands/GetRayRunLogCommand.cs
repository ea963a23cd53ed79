using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using RayRunner.Core;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Get-RayRunLog: a run's output (the Ray job log, the local backend's log file), one string per
    /// line so Select-String and Select-Object work on it. -Tail N reads only the last N lines.
    /// Each line carries the run's id (a RunId note property), so the lines of several runs can be
    /// told apart (Group-Object RunId). Without a connection a local run's log is read from its file
    /// in the run store, and so is a Ray run's once its job has ended and a session collected it
    /// (the whole log is kept there, so it outlives the job's deletion and the cluster).
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "RayRunLog")]
    [OutputType(typeof(string))]
    public sealed class GetRayRunLogCommand : RunTargetCmdlet
    {
        [Parameter]
        [Alias("Last")]
        [ValidateRange(0, int.MaxValue)]
        public int? Tail { get; set; }

        /// <summary>
        /// The log of this attempt of a retried run (1 for the first); the current attempt's when left
        /// out. Bound by property name from Get-RayRun -IncludeAttempts.
        /// </summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateRange(1, RetryPolicy.MaxAllowedRetries + 1)]
        [ArgumentCompleter(typeof(AttemptCompleter))]
        public int? Attempt { get; set; }

        protected override void ProcessRecord()
        {
            foreach (var id in RunId)
            {
                // A damaged record names no backend and no log file; without this check the error
                // read "ran on the  backend" (connected) or "no run" (not connected).
                if (ReadView()?.GetRun(id) is { } stored && WriteIfDamaged(stored)) continue;
                if (ModuleSession.Current == null)
                {
                    ReadFromStore(id);
                    continue;
                }
                // A collected run, or one another session started, is read through its record in the
                // run store; only the backend that ran it has its log.
                var run = Connection.Runs.Find(id);
                if (run == null)
                {
                    WriteRunNotFound(id);
                    continue;
                }
                if (!string.Equals(run.Backend, Connection.Backend.Name, StringComparison.Ordinal))
                {
                    WriteError(ErrorMapper.Make(ErrorIds.LogNotAvailable, ErrorCategory.ObjectNotFound,
                        $"Run '{id}' ran on the {run.Backend} backend, but this session is connected to the {Connection.Backend.Name} backend at {Connection.Backend.Address}. " +
                        $"Connect-RayCluster -Backend {run.Backend} to read its log.", id));
                    continue;
                }
                try
                {
                    WriteVerbose($"Reading the log of run {id} from the {Connection.Backend.Name} backend at {Connection.Backend.Address}" + (Tail.HasValue ? $" (last {Tail} lines)." : "."));
                    var text = Await(Attempt.HasValue
                        ? Connection.Runs.GetAttemptLogAsync(id, Attempt.Value, Tail, StopToken)
                        : Connection.Runs.GetLogAsync(id, Tail, StopToken));
                    WriteLines(id, SplitLines(text));
                }
                catch (PipelineStoppedException)
                {
                    throw;
                }
                catch (NotSupportedException ex)
                {
                    WriteError(new ErrorRecord(ex, ErrorIds.LogNotAvailable, ErrorCategory.NotImplemented, id));
                }
                catch (ArgumentOutOfRangeException) when (Attempt.HasValue)
                {
                    WriteNoSuchAttempt(id);
                }
                catch (Exception ex)
                {
                    WriteMappedError(ex, ErrorIds.LogReadFailed, id);
                }
            }
        }

        /// <summary>No connection: a local run's log file, read as it stands (it may still grow); never connects.</summary>
        void ReadFromStore(string id)
        {
            var record = StoreReader()?.RecordOf(id);
            if (record == null)
            {
                WriteRunNotFound(id);
                return;
            }
            SubmissionRecord? submission = record.Submission;
            if (Attempt.HasValue && Attempt.Value != record.Attempt)
            {
                var earlier = record.Attempts?.FirstOrDefault(a => a.Attempt == Attempt.Value);
                if (earlier == null)
                {
                    WriteNoSuchAttempt(id);
                    return;
                }
                submission = earlier.Submission;
            }
            var file = StoredRunLog.FileOf(submission);
            if (file == null)
            {
                var where = string.IsNullOrEmpty(record.Spec.Address) ? "" : $" -Address {record.Spec.Address}";
                WriteError(ErrorMapper.Make(ErrorIds.LogNotAvailable, ErrorCategory.ObjectNotFound,
                    record.IsSubmitted
                        ? $"Run '{id}' ran on the {record.Spec.Backend} backend, which keeps its log; this session has no connection. Connect-RayCluster -Backend {record.Spec.Backend}{where} to read it."
                        : NeverStarted(record), id));
                return;
            }
            if (!File.Exists(file) && record.Spec.Backend != Core.Local.LocalProcessBackend.BackendName)
            {
                var at = string.IsNullOrEmpty(record.Spec.Address) ? "" : $" -Address {record.Spec.Address}";
                WriteError(ErrorMapper.Make(ErrorIds.LogNotAvailable, ErrorCategory.ObjectNotFound,
                    $"Run '{id}' is {record.Status}: its log is kept in the run store once its {record.Spec.Backend} job has ended and a session collected it. " +
                    $"Until then the cluster has it: Connect-RayCluster -Backend {record.Spec.Backend}{at} to read it.", id));
                return;
            }
            try
            {
                WriteVerbose($"Reading the log of run {id} from {file} (kept in the run store; no connection needed).");
                WriteLines(id, ReadLines(file));
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                WriteMappedError(ex, ErrorIds.LogReadFailed, id);
            }
        }

        /// <summary>Why a run whose (current) attempt was never handed to a backend has no log, and where the log of an earlier attempt is.</summary>
        string NeverStarted(RunRecord record)
        {
            if (!RunStatus.IsTerminal(record.Status)) return $"Run '{record.RunId}' is {record.Status} and has not started, so it has no log yet.";
            if (record.Status == RunStatus.Cancelled) return $"Run '{record.RunId}' was cancelled before it started, so it has no log.";
            var shown = Attempt ?? record.Attempt;
            // A retry the backend did not take (a lost head, say): the attempts before it did run.
            var earlier = shown > 1 ? $" Get-RayRunLog {record.RunId} -Attempt {shown - 1} reads the attempt before it." : "";
            return $"Run '{record.RunId}' is {record.Status}: its attempt {shown} never started (the backend did not take it; Get-RayRun {record.RunId} | Format-List shows why), so it has no log.{earlier}";
        }

        void WriteNoSuchAttempt(string id) =>
            WriteError(ErrorMapper.Make(ErrorIds.AttemptNotFound, ErrorCategory.ObjectNotFound,
                $"Run '{id}' has no attempt {Attempt}. Get-RayRun {id} -IncludeAttempts lists the attempts it has had.", id));

        IEnumerable<string> ReadLines(string file)
        {
            if (!File.Exists(file)) return Array.Empty<string>();
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var lines = SplitLines(reader.ReadToEnd());
            return Tail.HasValue ? lines.Skip(Math.Max(0, lines.Length - Tail.Value)).ToArray() : lines;
        }

        void WriteLines(string runId, IEnumerable<string> lines)
        {
            foreach (var line in lines)
            {
                var shown = PSObject.AsPSObject(line);
                shown.Properties.Add(new PSNoteProperty("RunId", runId));
                WriteObject(shown);
            }
        }

        static string[] SplitLines(string text)
        {
            if (string.IsNullOrEmpty(text)) return Array.Empty<string>();
            var lines = text.Replace("\r\n", "\n").Split('\n');
            // A final newline ends the last line; it does not start an empty one.
            if (lines.Length > 0 && lines[lines.Length - 1].Length == 0) Array.Resize(ref lines, lines.Length - 1);
            return lines;
        }
    }
}
