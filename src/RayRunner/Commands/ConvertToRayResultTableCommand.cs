using System;
using System.Management.Automation;
using RayRunner.Core.Sweeps;

namespace RayRunner.PowerShell
{
    /// <summary>
    /// ConvertTo-RayResultTable: results as flat rows for Export-Csv, ConvertTo-Json or a data frame:
    /// the run's fields, then config.&lt;key&gt; for every setting (nested keys dotted) and
    /// metrics.&lt;name&gt; for every metric of any run. Every row has every column (null where a run
    /// has nothing), so Sort-Object | Export-Csv never loses one. Rows are written once all input is in.
    /// </summary>
    [Cmdlet(VerbsData.ConvertTo, "RayResultTable", DefaultParameterSetName = "Results")]
    [OutputType(typeof(PSObject))]
    public sealed class ConvertToRayResultTableCommand : SweepResultsCmdlet
    {
        /// <summary>
        /// The rows' type name. Deliberately not in <see cref="TypeNames"/> and without a view: a
        /// row's columns are the sweep's own settings and metrics, so PowerShell's default
        /// (every property) is the right display.
        /// </summary>
        public const string RowTypeName = "RayRunner.ResultRow";

        protected override void EndProcessing()
        {
            if (!GatherFromStore()) return;
            var table = ResultTable.Of(Results);
            foreach (var result in table.Results)
            {
                var row = new PSObject();
                row.TypeNames.Insert(0, RowTypeName);
                foreach (var cell in table.Row(result))
                {
                    var value = cell.Value is DateTimeOffset t ? t.LocalDateTime : cell.Value;
                    row.Properties.Add(new PSNoteProperty(cell.Key, value));
                }
                WriteObject(row);
            }
        }
    }
}
