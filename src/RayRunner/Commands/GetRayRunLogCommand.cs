using System;
using System.Management.Automation;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Get-RayRunLog: a run's output (the Ray job log, the local backend's log file), one string per
    /// line so Select-String and Select-Object work on it. -Tail N reads only the last N lines.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "RayRunLog")]
    [OutputType(typeof(string))]
    public sealed class GetRayRunLogCommand : RunTargetCmdlet
    {
        [Parameter]
        [Alias("Last")]
        [ValidateRange(0, int.MaxValue)]
        public int? Tail { get; set; }


        protected override void ProcessRecord()
        {
            foreach (var id in RunId)
            {
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
                    var text = Await(Connection.Runs.GetLogAsync(id, Tail, StopToken));
                    foreach (var line in SplitLines(text)) WriteObject(line);
                }
                catch (PipelineStoppedException)
                {
                    throw;
                }
                catch (NotSupportedException ex)
                {
                    WriteError(new ErrorRecord(ex, ErrorIds.LogNotAvailable, ErrorCategory.NotImplemented, id));
                }
                catch (Exception ex)
                {
                    WriteMappedError(ex, ErrorIds.LogReadFailed, id);
                }
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
