using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation.Language;
using Xunit;

namespace RayRunner.Tests.Unit.Module
{
    /// <summary>
    /// The PowerShell scripts CI cannot run where pwsh or Pester is missing still get parsed by the
    /// engine, so a syntax error fails the build everywhere.
    /// </summary>
    public sealed class ScriptSyntaxTests
    {
        public static IEnumerable<object[]> Scripts()
        {
            var root = ModuleHost.RepoRoot;
            var pester = Directory.GetFiles(Path.Combine(root, "tests", "Pester"), "*.ps1", SearchOption.AllDirectories);
            return pester.Append(Path.Combine(root, "build.ps1"))
                .Select(f => new object[] { Path.GetRelativePath(root, f) });
        }

        [Fact]
        public void ThereIsAPesterSuiteToParse()
        {
            Assert.Contains(Scripts(), s => ((string)s[0]).EndsWith(".Tests.ps1"));
        }

        [Theory]
        [MemberData(nameof(Scripts))]
        public void ScriptParsesWithoutErrors(string relativePath)
        {
            Parser.ParseFile(Path.Combine(ModuleHost.RepoRoot, relativePath), out _, out var errors);
            Assert.True(errors.Length == 0,
                string.Join("\n", errors.Select(e => $"{relativePath}:{e.Extent.StartLineNumber}:{e.Extent.StartColumnNumber}: {e.Message}")));
        }
    }
}
