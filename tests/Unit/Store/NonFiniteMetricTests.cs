using System;
using System.Collections.Generic;
using RayRunner.Core;
using Xunit;

namespace RayRunner.Tests.Unit.Store
{
    /// <summary>
    /// A diverged run reports loss = Infinity (Python's json.dumps writes it bare). Before the fix
    /// the store could not write such a result, the run was never recorded as finished, and
    /// Invoke-RayExperiment waited for it forever.
    /// </summary>
    public class NonFiniteMetricTests : IDisposable
    {
        readonly TempFolder _temp = new TempFolder();
        public void Dispose() => _temp.Dispose();

        [Fact]
        public void A_result_with_infinite_and_NaN_metrics_is_recorded_and_read_back()
        {
            var store = new FileRunStore(_temp.Sub("store"));
            var queued = StoreRecords.Queued("run1", "fake", "x");
            var output = new TaskOutput
            {
                RunId = "run1",
                Status = RunStatus.Failed,
                ErrorMessage = "diverged",
                Metrics = new Dictionary<string, double> { ["loss"] = double.PositiveInfinity, ["w"] = double.NaN, ["lr"] = 30 },
            };
            store.Save(queued.With(status: RunStatus.Failed, clearOwner: true, result: output));

            var loaded = store.TryLoad("run1");
            Assert.NotNull(loaded);
            Assert.Equal(double.PositiveInfinity, loaded!.Result!.Metrics["loss"]);
            Assert.True(double.IsNaN(loaded.Result.Metrics["w"]));
            Assert.Equal(30, loaded.Result.Metrics["lr"]);
        }
    }
}
