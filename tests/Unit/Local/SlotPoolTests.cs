using System.Collections.Generic;
using System.Linq;
using RayRunner.Core.Local;
using Xunit;

namespace RayRunner.Tests.Unit.Local
{
    public class SlotPoolTests
    {
        static SlotPool Pool(int maxRuns = 10, int cpus = 8, params string[] gpus) => new SlotPool(maxRuns, cpus, gpus);

        [Fact]
        public void Cpu_slots_are_counted_per_run_including_fractions()
        {
            var pool = Pool(cpus: 2);
            var a = pool.TryTake(new SlotRequest(0.5, 0));
            var b = pool.TryTake(new SlotRequest(1.5, 0));
            Assert.NotNull(a);
            Assert.NotNull(b);
            Assert.Null(pool.TryTake(new SlotRequest(0.1, 0)));
            Assert.NotNull(pool.TryTake(new SlotRequest(0, 0))); // a run that asks no CPU only takes a run slot
            pool.Release(a!);
            Assert.NotNull(pool.TryTake(new SlotRequest(0.5, 0)));
        }

        [Fact]
        public void Whole_gpus_are_handed_out_as_distinct_ids()
        {
            var pool = Pool(gpus: new[] { "3", "5", "7" });
            var a = pool.TryTake(new SlotRequest(1, 1))!;
            var b = pool.TryTake(new SlotRequest(1, 2))!;
            Assert.Equal(new[] { "3" }, a.GpuIds);
            Assert.Equal(new[] { "5", "7" }, b.GpuIds);
            Assert.Null(pool.TryTake(new SlotRequest(1, 1)));
            pool.Release(b);
            Assert.Equal(new[] { "5" }, pool.TryTake(new SlotRequest(1, 1))!.GpuIds);
        }

        [Fact]
        public void Fractional_gpus_share_a_device_as_in_ray()
        {
            var pool = Pool(gpus: new[] { "0", "1" });
            var ids = Enumerable.Range(0, 4).Select(_ => pool.TryTake(new SlotRequest(0, 0.5))!.GpuIds.Single()).ToList();
            Assert.Equal(new[] { "0", "0", "1", "1" }, ids);
            Assert.Null(pool.TryTake(new SlotRequest(0, 0.5)));
        }

        [Fact]
        public void Two_whole_gpus_are_only_taken_from_devices_no_fraction_is_using()
        {
            var pool = Pool(gpus: new[] { "0", "1", "2" });
            Assert.Equal(new[] { "0" }, pool.TryTake(new SlotRequest(0, 0.25))!.GpuIds);
            Assert.Equal(new[] { "1", "2" }, pool.TryTake(new SlotRequest(0, 2))!.GpuIds);
        }

        [Theory]
        [InlineData(9, 0, "CPUs but this local backend has 8")]
        [InlineData(1, 3, "GPUs but this local backend has 2")]
        [InlineData(1, 1.5, "whole")]
        [InlineData(-1, 0, "0 or more")]
        public void A_request_that_could_never_fit_says_why(double cpus, double gpus, string expected)
        {
            var why = Pool(cpus: 8, gpus: new[] { "0", "1" }).WhyItCanNeverFit(new SlotRequest(cpus, gpus));
            Assert.NotNull(why);
            Assert.Contains(expected, why);
        }

        [Fact]
        public void Gpus_asked_of_a_backend_without_any_say_how_to_give_it_some()
        {
            var why = Pool().WhyItCanNeverFit(new SlotRequest(1, 1));
            Assert.Contains("has none", why);
            Assert.Contains("CUDA_VISIBLE_DEVICES", why);
        }

        [Fact]
        public void Declared_custom_resources_are_counted_and_redeclaring_changes_nothing()
        {
            var pool = Pool();
            pool.Declare(new Dictionary<string, double> { ["experiment_slot"] = 1 });
            pool.Declare(new Dictionary<string, double> { ["experiment_slot"] = 5 });
            var slot = new Dictionary<string, double> { ["experiment_slot"] = 1 };
            var a = pool.TryTake(new SlotRequest(1, 0, slot));
            Assert.NotNull(a);
            Assert.Null(pool.TryTake(new SlotRequest(1, 0, slot)));
            Assert.NotNull(pool.TryTake(new SlotRequest(1, 0, new Dictionary<string, double> { ["undeclared"] = 100 })));
            pool.Release(a!);
            Assert.NotNull(pool.TryTake(new SlotRequest(1, 0, slot)));
        }

        [Fact]
        public void Runs_that_fit_at_once_count_cpus_gpu_shares_whole_gpus_and_resources()
        {
            Assert.Equal(4, Pool(maxRuns: 10, cpus: 8).RunsThatFitAtOnce(new SlotRequest(2, 0)));
            Assert.Equal(3, Pool(maxRuns: 3, cpus: 8).RunsThatFitAtOnce(new SlotRequest(1, 0)));
            Assert.Equal(10, Pool(maxRuns: 10, cpus: 8).RunsThatFitAtOnce(new SlotRequest(0, 0)));
            Assert.Equal(4, Pool(10, 64, "0", "1").RunsThatFitAtOnce(new SlotRequest(1, 0.5)));   // two runs share each GPU
            Assert.Equal(1, Pool(10, 64, "0", "1", "2").RunsThatFitAtOnce(new SlotRequest(1, 2)));  // whole GPUs: 3 / 2
            var pool = Pool(10, 64);
            pool.Declare(new Dictionary<string, double> { ["experiment_slot"] = 3 });
            Assert.Equal(3, pool.RunsThatFitAtOnce(new SlotRequest(1, 0, new Dictionary<string, double> { ["experiment_slot"] = 1 })));
            Assert.Equal(0, Pool(10, 2).RunsThatFitAtOnce(new SlotRequest(4, 0)));                 // never fits
        }
    }

    public class GpuInventoryTests
    {
        static IReadOnlyList<string> Discover(int? count, string? visible) =>
            GpuInventory.Discover(count, name => name == "CUDA_VISIBLE_DEVICES" ? visible : null);

        [Fact]
        public void Unset_means_no_gpus() => Assert.Empty(Discover(null, null));

        [Fact]
        public void The_listed_devices_are_the_ids_handed_out() => Assert.Equal(new[] { "2", "3" }, Discover(null, "2, 3"));

        [Fact]
        public void Uuids_are_kept_as_they_are() => Assert.Equal(new[] { "GPU-8f2e", "GPU-11aa" }, Discover(null, "GPU-8f2e,GPU-11aa"));

        [Fact]
        public void Minus_one_hides_every_device_as_cuda_does() => Assert.Empty(Discover(null, "-1"));

        [Fact]
        public void A_count_takes_the_first_listed_devices() => Assert.Equal(new[] { "4" }, Discover(1, "4,6"));

        [Fact]
        public void A_count_beyond_the_list_numbers_the_devices() => Assert.Equal(new[] { "0", "1", "2" }, Discover(3, "4"));

        [Fact]
        public void A_count_of_zero_turns_gpus_off() => Assert.Empty(Discover(0, "0,1"));
    }
}
