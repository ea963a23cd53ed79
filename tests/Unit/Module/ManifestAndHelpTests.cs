using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using System.Xml.Linq;
using Xunit;

namespace RayRunner.Tests.Unit.Module
{
    /// <summary>The staged manifest, the exported surface, the help and the views, as PowerShell itself reads them.</summary>
    [Collection(ModuleCollection.Name)]
    public sealed class ManifestAndHelpTests
    {
        internal static readonly string[] Cmdlets =
        {
            "Connect-RayCluster", "Disconnect-RayCluster", "Get-RayCluster", "Start-RayExperiment", "Invoke-RayExperiment",
            "Get-RayRun", "Get-RayRunStatus", "Wait-RayRun", "Receive-RayRun", "Get-RayRunLog", "Stop-RayRun", "Remove-RayRun",
            "Resume-RaySweep", "New-RaySweep", "Measure-RaySweep", "ConvertTo-RayResultTable", "Export-RaySweepReport",
        };

        static Dictionary<string, object?> Manifest => new() { ["manifest"] = ModuleHost.ManifestPath };

        [Fact]
        public void ImportedModuleExportsExactlyTheCmdletsAndNothingElse()
        {
            using var host = new ModuleHost();
            var o = host.Run(@"$m = Get-Module RayRunner
                $m.ModuleType.ToString()
                ($m.ExportedCmdlets.Keys | ForEach-Object { $_ }) -join ','
                $m.ExportedFunctions.Count; $m.ExportedAliases.Count; $m.ExportedVariables.Count").AssertClean();
            Assert.Equal("Binary", o.Output[0].ToString());
            Assert.Equal(Cmdlets.OrderBy(c => c), o.Output[1].ToString().Split(',').OrderBy(c => c));
            Assert.Equal(new object[] { 0, 0, 0 }, o.Output.Skip(2).Select(p => p.BaseObject));
        }

        [Fact]
        public void TestModuleManifestAcceptsTheStagedManifest()
        {
            using var host = new ModuleHost();
            var o = host.Run(@"$t = Test-ModuleManifest -Path $manifest -ErrorAction Stop
                $t.RootModule; $t.PowerShellVersion.ToString(); ($t.CompatiblePSEditions -join ',')
                $t.PrivateData.PSData.ProjectUri; $t.PrivateData.PSData.LicenseUri; $t.PrivateData.PSData.Tags.Count; $t.ExportedFormatFiles.Count", Manifest).AssertClean();
            Assert.Equal("RayRunner.dll", o.Output[0].ToString());
            Assert.Equal("5.1", o.Output[1].ToString());
            Assert.Equal("Desktop,Core", o.Output[2].ToString());
            Assert.StartsWith("https://", o.Output[3].ToString());
            Assert.StartsWith("https://", o.Output[4].ToString());
            Assert.True((int)o.Output[5].BaseObject > 0);
            Assert.Equal(1, (int)o.Output[6].BaseObject);
        }

        [Fact]
        public void ManifestExportListsAreExplicitWithoutWildcards()
        {
            var ast = System.Management.Automation.Language.Parser.ParseFile(ModuleHost.ManifestPath, out _, out var errors);
            Assert.Empty(errors);
            var table = (System.Management.Automation.Language.HashtableAst)ast.Find(a => a is System.Management.Automation.Language.HashtableAst, false)!;
            foreach (var key in new[] { "CmdletsToExport", "FunctionsToExport", "AliasesToExport", "VariablesToExport" })
            {
                var entry = table.KeyValuePairs.Single(kv => kv.Item1.Extent.Text == key);
                Assert.DoesNotContain("*", entry.Item2.Extent.Text);
            }
        }

        [Fact]
        public void EveryCmdletUsesAnApprovedVerbAndDeclaresItsOutput()
        {
            var approved = new[] { typeof(VerbsCommon), typeof(VerbsCommunications), typeof(VerbsData), typeof(VerbsDiagnostic), typeof(VerbsLifecycle), typeof(VerbsOther), typeof(VerbsSecurity) }
                .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static)).Select(f => (string)f.GetValue(null)!).ToHashSet();
            using var host = new ModuleHost();
            foreach (var name in Cmdlets)
            {
                Assert.Contains(name.Split('-')[0], approved);
                if (name == "Remove-RayRun") continue; // writes nothing
                var o = host.Run($"(Get-Command {name}).OutputType.Count").AssertClean();
                Assert.True((int)o.Output[0].BaseObject > 0, name + " declares no [OutputType]");
            }
        }

        [Fact]
        public void EveryCmdletHasHelpWithSynopsisDescriptionAndAtLeastTwoExamples()
        {
            using var host = new ModuleHost();
            foreach (var name in Cmdlets)
            {
                var o = host.Run($@"$h = Get-Help {name} -Full
                    $h.Synopsis
                    ($h.Description | ForEach-Object {{ $_.Text }}) -join ' '
                    @((Get-Help {name} -Examples).Examples.Example).Count").AssertClean();
                var synopsis = o.Output[0].ToString();
                Assert.False(synopsis.StartsWith(name, StringComparison.Ordinal), $"{name}: no MAML help found (synopsis is the syntax)");
                Assert.True(o.Output[1].ToString().Length > 40, $"{name}: description missing");
                Assert.True((int)o.Output[2].BaseObject >= 2, $"{name}: fewer than two examples");
            }
        }

        [Fact]
        public void EveryParameterOfEveryCmdletIsDocumented()
        {
            using var host = new ModuleHost();
            foreach (var name in Cmdlets)
            {
                var o = host.Run($@"$common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
                    $documented = @{{}}
                    foreach ($p in @((Get-Help {name} -Full).Parameters.Parameter)) {{ if ($p) {{ $documented[$p.Name] = (($p.Description | ForEach-Object {{ $_.Text }}) -join ' ') }} }}
                    foreach ($p in (Get-Command {name}).Parameters.Keys) {{
                        if ($common -contains $p) {{ continue }}
                        if (-not $documented[$p]) {{ ""{name} -$p"" }}
                    }}").AssertClean();
                Assert.Empty(o.Output.Select(p => p.ToString()));
            }
        }

        [Fact]
        public void AboutTopicShipsWithTheErrorTable()
        {
            var about = File.ReadAllText(Path.Combine(ModuleHost.StagedModule, "en-US", "about_RayRunner.help.txt"));
            Assert.StartsWith("TOPIC", about.TrimStart());
            var docs = File.ReadAllText(Path.Combine(ModuleHost.RepoRoot, "docs", "error-ids.md"));
            using var host = new ModuleHost();
            var ids = ModuleConstants(host, "ErrorIds");
            Assert.True(ids.Count > 15);
            foreach (var id in ids)
            {
                Assert.Contains(id, about);
                Assert.Contains(id, docs);
            }
        }

        [Fact]
        public void FormatFileHasAViewForEveryOutputTypeName()
        {
            var xml = XDocument.Load(Path.Combine(ModuleHost.StagedModule, "RayRunner.Format.ps1xml"));
            var viewed = xml.Descendants("TypeName").Select(e => e.Value).ToHashSet();
            using var host = new ModuleHost();
            var names = ModuleConstants(host, "TypeNames");
            Assert.Equal(7, names.Count);
            foreach (var name in names) Assert.Contains(name, viewed);
            var runColumns = xml.Descendants("View").Single(v => v.Element("Name")!.Value == "RayRunner.RayRun")
                .Descendants("Label").Select(l => l.Value).ToList();
            Assert.Equal(new[] { "RunId", "SweepId", "Status", "Submitted", "Duration", "Entrypoint" }, runColumns);

            // Every table fits an 80-column console: the fixed widths, a blank between columns, and
            // room for the whole header of a last column that takes the rest.
            foreach (var table in xml.Descendants("TableControl"))
            {
                var headers = table.Descendants("TableColumnHeader").ToList();
                var used = headers.Sum(h => (int?)h.Element("Width") is int w ? w : h.Element("Label")!.Value.Length) + headers.Count - 1;
                Assert.True(used <= 80, $"A table view needs {used} columns: {string.Join(", ", headers.Select(h => h.Element("Label")!.Value))}");
                Assert.True(headers.Take(headers.Count - 1).All(h => h.Element("Width") != null), "only the last column may take the rest of the line");
            }
        }

        /// <summary>The public constants of a module class, read from the module the engine loaded (the tests do not reference it).</summary>
        static List<string> ModuleConstants(ModuleHost host, string className) =>
            host.Run($"[RayRunner.PowerShell.{className}].GetFields() | ForEach-Object {{ $_.GetValue($null) }}").AssertClean()
                .Output.Select(o => o.ToString()).ToList();

        [Fact]
        public void StagedModuleCarriesTheDependenciesWindowsPowerShellNeedsAndNotTheEngine()
        {
            var files = Directory.GetFiles(ModuleHost.StagedModule).Select(Path.GetFileName).ToHashSet();
            foreach (var dll in new[] { "RayRunner.dll", "RayRunner.Core.dll", "System.Text.Json.dll", "System.Memory.dll", "System.Runtime.CompilerServices.Unsafe.dll", "Microsoft.Bcl.AsyncInterfaces.dll", "System.Text.Encodings.Web.dll" })
                Assert.Contains(dll, files);
            Assert.DoesNotContain("System.Management.Automation.dll", files);
        }
    }
}
