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
                if (!Connection.Runs.IsTracked(id))
                {
                    if (Connection.Runs.Find(id) == null) WriteRunNotFound(id);
                    else WriteError(ErrorMapper.Make(ErrorIds.LogNotAvailable, ErrorCategory.ObjectNotFound,
                        $"Run '{id}' is no longer tracked by this session (it was collected, cancelled or started elsewhere), so its log cannot be read here.", id));
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
