using System.IO;
using System.Linq;
using Xunit;

namespace RayRunner.Tests.Unit.Module
{
    /// <summary>
    /// The hosted engine is the whole PowerShell SDK, not the bare System.Management.Automation
    /// package: the built-in cmdlets that users pipe RayRunner's objects into exist there, so the
    /// module tests can use them as a user would.
    /// </summary>
    [Collection(ModuleCollection.Name)]
    public sealed class HostedEngineTests
    {
        [Fact]
        public void ResultsFlowIntoTheBuiltInFormattingSortingAndExportCmdlets()
        {
            using var host = new ModuleHost();
            Directory.CreateDirectory(host.StoreRoot);
            var csv = Path.Combine(host.StoreRoot, "out.csv");
            var outcome = host.Run(
                "$rows = 3, 1, 2 | ForEach-Object { [pscustomobject]@{ RunId = \"r$_\"; loss = $_ } }\n" +
                "$rows | Sort-Object loss | Export-Csv -NoTypeInformation -Path $csv\n" +
                "($rows | Format-Table RunId, loss | Out-String -Width 80).Trim()\n" +
                "(Import-Csv $csv).RunId -join ','\n" +
                "Write-Progress -Activity 'probe' -Completed",
                new System.Collections.Generic.Dictionary<string, object?> { ["csv"] = csv }).AssertClean();

            Assert.StartsWith("RunId", (string)outcome.Output[0].BaseObject);
            Assert.Equal("r1,r2,r3", (string)outcome.Output[1].BaseObject);
        }
    }
}
