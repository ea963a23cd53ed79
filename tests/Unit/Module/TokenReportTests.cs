using System.Collections.Generic;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Ray;
using RayRunner.Tests.Unit.Ray;
using RayRunner.Tests.Unit.Ray.StandIn;
using Xunit;

namespace RayRunner.Tests.Unit.Module
{
    /// <summary>Get-RayCluster's HasToken tells whether requests carry a token, wherever Ray's rules found it (issue 12).</summary>
    [Collection(ModuleCollection.Name)]
    public sealed class TokenReportTests
    {
        [Fact]
        public async Task A_token_from_RAY_AUTH_TOKEN_shows_as_HasToken()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync(new StandInSettings { Token = "from-env" });
            using var host = new ModuleHost();
            // The Ray backend over the stand-in, reading RAY_AUTH_TOKEN from its environment as Ray does.
            var env = RayTestSupport.Env(new Dictionary<string, string> { ["RAY_AUTH_TOKEN"] = "from-env" });
            host.BackendOverride = (settings, ct) =>
                Task.FromResult<IRayBackend>(new RayJobsBackend(RayTestSupport.Fast(standIn.Address, env, settings.Token)));

            var cluster = host.Run("Connect-RayCluster -Backend Ray -NoAutoStart; (Get-RayCluster).PSObject.Properties.Value -join '|'").AssertClean();

            Assert.Equal("ray", cluster.Prop(0, "Backend"));
            Assert.Equal(true, cluster.Prop(0, "HasToken"));
            Assert.DoesNotContain("from-env", (string)cluster.Output[1].BaseObject);
            Assert.Contains("Bearer from-env", standIn.Requests.ToArray()[^1].Authorization);
        }

        [Fact]
        public async Task No_token_anywhere_shows_as_no_token()
        {
            await using var standIn = await RayDashboardStandIn.StartAsync();
            using var host = new ModuleHost();
            host.BackendOverride = (settings, ct) =>
                Task.FromResult<IRayBackend>(new RayJobsBackend(RayTestSupport.Fast(standIn.Address, RayTestSupport.Env(), settings.Token)));

            var cluster = host.Run("Connect-RayCluster -Backend Ray -NoAutoStart").AssertClean();

            Assert.Equal(false, cluster.Prop(0, "HasToken"));
        }
    }
}
