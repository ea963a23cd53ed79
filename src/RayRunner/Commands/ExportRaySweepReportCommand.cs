using System;
using System.IO;
using System.Management.Automation;
using System.Text;
using RayRunner.Core.Sweeps;
using RayRunner.Core.Sweeps.Report;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// Export-RaySweepReport: one self-contained HTML file (opens offline, loads nothing) with the
    /// sweep's summary, charts (the metric in finishing order with the best so far, the metric
    /// against each swept parameter, parallel coordinates) and a sortable, filterable run table.
    /// </summary>
    [Cmdlet(VerbsData.Export, "RaySweepReport", DefaultParameterSetName = "Results", SupportsShouldProcess = true)]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportRaySweepReportCommand : SweepResultsCmdlet
    {
        /// <summary>The HTML file to write.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>The metric to rank and chart; default best_val_loss, val_loss or loss, whichever the runs report.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Metric { get; set; }

        /// <summary>Higher is better (accuracy); the default is lower is better (loss).</summary>
        [Parameter]
        public SwitchParameter Maximize { get; set; }

        /// <summary>The page's title; default "Sweep &lt;sweep id&gt;".</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Title { get; set; }

        /// <summary>Do not overwrite an existing file.</summary>
        [Parameter]
        public SwitchParameter NoClobber { get; set; }

        /// <summary>Write the report's FileInfo.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing()
        {
            if (!GatherFromStore()) return;
            var full = GetUnresolvedProviderPathFromPSPath(Path);
            var results = Results;
            if (!ShouldProcess(full, $"Write a report of {results.Count} run(s)")) return;
            if (NoClobber && File.Exists(full))
                ThrowTerminatingError(ErrorMapper.Make(ErrorIds.ReportWriteFailed, ErrorCategory.ResourceExists,
                    $"The file '{full}' exists and -NoClobber was given. Choose another -Path, or leave -NoClobber out to replace it.", Path));

            var folder = System.IO.Path.GetDirectoryName(full) ?? ".";
            // Said before writing: otherwise the error named the hidden temporary file, not the folder.
            if (!Directory.Exists(folder))
                ThrowTerminatingError(ErrorMapper.Make(ErrorIds.ReportWriteFailed, ErrorCategory.ObjectNotFound,
                    $"The folder '{folder}' does not exist, so the report cannot be written to '{full}'. Create it first (New-Item -ItemType Directory), or choose another -Path.", Path));
            var html = SweepReport.Render(results, Metric, Maximize.IsPresent, Title, DateTimeOffset.Now);
            var temp = System.IO.Path.Combine(folder, "." + System.IO.Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp");
            try
            {
                // Written aside and renamed: a reader (or a browser refreshing) never sees half a report.
                File.WriteAllText(temp, html, new UTF8Encoding(false));
                if (File.Exists(full)) File.Replace(temp, full, null);
                else File.Move(temp, full);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NotSupportedException)
            {
                try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                var (_, category) = ErrorMapper.Classify(ex, ErrorIds.ReportWriteFailed);
                ThrowTerminatingError(new ErrorRecord(new IOException($"The report could not be written to '{full}': {ex.Message}", ex),
                    ErrorIds.ReportWriteFailed, category == ErrorCategory.ReadError ? ErrorCategory.WriteError : category, Path));
            }
            WriteVerbose($"Wrote the report of {results.Count} run(s) to '{full}'.");
            if (PassThru) WriteObject(new FileInfo(full));
        }
    }
}
