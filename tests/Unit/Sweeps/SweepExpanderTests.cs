using System;
using System.Collections.Generic;
using System.Linq;
using RayRunner.Core;
using RayRunner.Core.Sweeps;
using Xunit;

namespace RayRunner.Tests.Unit.Sweeps
{
    public class SweepExpanderTests
    {
        static List<object?> L(params object?[] values) => values.ToList();

        static SweepDefinition Grid(params (string Key, object? Values)[] grid)
        {
            var sweep = new SweepDefinition();
            foreach (var (key, values) in grid) sweep.Space.Add(new(key, ParameterDomain.From(key, values)));
            return sweep;
        }

        [Fact]
        public void Grid_is_the_cartesian_product_with_the_last_key_fastest()
        {
            var configs = SweepExpander.Expand(Grid(("lr", L(0.1, 0.01)), ("seed", L(1L, 2L, 3L))));
            Assert.Equal(6, configs.Count);
            Assert.Equal(new[] { "lr=0.1 seed=1", "lr=0.1 seed=2", "lr=0.1 seed=3", "lr=0.01 seed=1", "lr=0.01 seed=2", "lr=0.01 seed=3" },
                configs.Select(c => c.Label));
            Assert.Equal(Enumerable.Range(1, 6), configs.Select(c => c.Index));
            Assert.Equal(0.01, configs[4].Config["lr"]);
            Assert.Equal(2L, configs[4].Config["seed"]);
        }

        [Fact]
        public void Dotted_keys_set_nested_values_and_keep_the_rest_of_the_base()
        {
            var sweep = Grid(("model.k", L(8L, 16L)));
            sweep.Base = new Dictionary<string, object?> { ["model"] = new Dictionary<string, object?> { ["name"] = "gnn", ["k"] = 4L }, ["lr"] = 0.1 };
            var configs = SweepExpander.Expand(sweep);
            var model = Assert.IsType<Dictionary<string, object?>>(configs[1].Config["model"]);
            Assert.Equal(16L, model["k"]);
            Assert.Equal("gnn", model["name"]);
            Assert.Equal(0.1, configs[1].Config["lr"]);
            // The base itself is never changed, and configs share no maps.
            Assert.Equal(4L, ((Dictionary<string, object?>)sweep.Base["model"]!)["k"]);
            Assert.NotSame(configs[0].Config["model"], configs[1].Config["model"]);
            Assert.Equal("k=16", configs[1].Label);
        }

        [Fact]
        public void Config_hash_is_the_runners_hash_and_stable()
        {
            var a = SweepExpander.Expand(Grid(("lr", L(0.1)), ("seed", L(1L, 2L))));
            var b = SweepExpander.Expand(Grid(("seed", L(1L, 2L)), ("lr", L(0.1))));
            Assert.Equal(ConfigHash.Compute(a[0].Config), a[0].ConfigHash);
            // Same settings, other key order: same hash.
            Assert.Equal(a[0].ConfigHash, b[0].ConfigHash);
            Assert.NotEqual(a[0].ConfigHash, a[1].ConfigHash);
        }

        [Fact]
        public void Zip_pairs_values_by_position_and_crosses_with_the_grid()
        {
            var sweep = Grid(("seed", L(1L, 2L)));
            sweep.Zip.Add(new List<KeyValuePair<string, IReadOnlyList<object?>>> { new("lr", L(0.1, 0.01, 0.001)), new("batch", L(32L, 64L, 128L)) });
            var configs = SweepExpander.Expand(sweep);
            Assert.Equal(6, configs.Count);
            Assert.Equal("lr=0.1 batch=32 seed=1", configs[0].Label);
            Assert.Equal("lr=0.01 batch=64 seed=2", configs[3].Label);
            Assert.All(configs, c => Assert.Equal(new[] { 0.1, 0.01, 0.001 }.ToList().IndexOf((double)c.Config["lr"]!), new[] { 32L, 64L, 128L }.ToList().IndexOf((long)c.Config["batch"]!)));
        }

        [Fact]
        public void Zip_lists_of_different_lengths_are_refused()
        {
            var sweep = new SweepDefinition();
            sweep.Zip.Add(new List<KeyValuePair<string, IReadOnlyList<object?>>> { new("lr", L(0.1, 0.01)), new("batch", L(32L)) });
            var ex = Assert.Throws<SweepDefinitionException>(() => SweepExpander.Expand(sweep));
            Assert.Equal(SweepProblem.Invalid, ex.Problem);
            Assert.Contains("'batch' has 1", ex.Message);
        }

        [Fact]
        public void Random_draws_are_reproducible_for_a_seed_and_differ_between_seeds()
        {
            SweepDefinition Make(long seed)
            {
                var s = Grid(("opt", L("adam", "sgd")));
                s.Space.Add(new("lr", ParameterDomain.From("lr", new Dictionary<string, object?> { ["low"] = 1e-4, ["high"] = 1e-1, ["distribution"] = "loguniform" })));
                s.Space.Add(new("layers", ParameterDomain.From("layers", new Dictionary<string, object?> { ["low"] = 2L, ["high"] = 4L, ["distribution"] = "integer" })));
                s.Space.Add(new("dropout", ParameterDomain.From("dropout", new Dictionary<string, object?> { ["low"] = 0.0, ["high"] = 0.5 })));
                s.RandomSamples = 200;
                s.RandomSeed = seed;
                return s;
            }
            var first = SweepExpander.Expand(Make(7));
            var again = SweepExpander.Expand(Make(7));
            var other = SweepExpander.Expand(Make(8));
            Assert.Equal(200, first.Count);
            Assert.Equal(first.Select(c => c.ConfigHash), again.Select(c => c.ConfigHash));
            Assert.NotEqual(first.Select(c => c.ConfigHash), other.Select(c => c.ConfigHash));

            var lrs = first.Select(c => (double)c.Config["lr"]!).ToList();
            Assert.All(lrs, lr => Assert.InRange(lr, 1e-4, 1e-1));
            // Log-uniform: about a third of the draws in each decade, not 90% in the top one.
            Assert.InRange(lrs.Count(lr => lr < 1e-3), 40, 95);
            var layers = first.Select(c => (long)c.Config["layers"]!).ToList();
            Assert.Equal(new[] { 2L, 3L, 4L }, layers.Distinct().OrderBy(x => x));
            Assert.All(first, c => Assert.InRange((double)c.Config["dropout"]!, 0.0, 0.5));
            Assert.Equal(new[] { "adam", "sgd" }, first.Select(c => (string)c.Config["opt"]!).Distinct().OrderBy(x => x));
        }

        [Fact]
        public void The_first_random_draws_are_pinned_so_a_seed_means_the_same_configs_everywhere()
        {
            var s = new SweepDefinition { RandomSamples = 3, RandomSeed = 42 };
            s.Space.Add(new("x", ParameterDomain.From("x", new Dictionary<string, object?> { ["low"] = 0.0, ["high"] = 1.0 })));
            var xs = SweepExpander.Expand(s).Select(c => (double)c.Config["x"]!).ToList();
            // SplitMix64(42), checked against an independent Python implementation of the published
            // algorithm: these values are the contract of -Seed 42 (change them only with a release note).
            Assert.Equal(new[] { "0.741565", "0.159910", "0.278601" },
                xs.Select(x => x.ToString("F6", System.Globalization.CultureInfo.InvariantCulture)));
        }

        [Fact]
        public void A_range_in_a_grid_is_refused_with_a_way_forward()
        {
            var s = new SweepDefinition();
            s.Space.Add(new("lr", ParameterDomain.From("lr", new Dictionary<string, object?> { ["low"] = 0.1, ["high"] = 1.0 })));
            var ex = Assert.Throws<SweepDefinitionException>(() => SweepExpander.Expand(s));
            Assert.Contains("-Random", ex.Message);
        }

        [Theory]
        [InlineData("empty-list")]
        [InlineData("nothing")]
        public void Empty_sweeps_are_refused(string kind)
        {
            var ex = Assert.Throws<SweepDefinitionException>(() =>
                SweepExpander.Expand(kind == "nothing" ? new SweepDefinition() : Grid(("lr", L()))));
            Assert.Equal(SweepProblem.Empty, ex.Problem);
        }

        [Fact]
        public void Conflicting_dotted_keys_are_refused()
        {
            var nested = Assert.Throws<SweepDefinitionException>(() => SweepExpander.Expand(Grid(("model", L("a", "b")), ("model.k", L(1L, 2L)))));
            Assert.Equal(SweepProblem.ConflictingKeys, nested.Problem);
            Assert.Contains("'model.k' lies inside 'model'", nested.Message);

            var twice = Grid(("lr", L(0.1)));
            twice.Zip.Add(new List<KeyValuePair<string, IReadOnlyList<object?>>> { new("lr", L(0.2)) });
            Assert.Equal(SweepProblem.ConflictingKeys, Assert.Throws<SweepDefinitionException>(() => SweepExpander.Expand(twice)).Problem);

            var intoScalar = Grid(("model.k", L(1L)));
            intoScalar.Base = new Dictionary<string, object?> { ["model"] = "gnn" };
            var ex = Assert.Throws<SweepDefinitionException>(() => SweepExpander.Expand(intoScalar));
            Assert.Equal(SweepProblem.ConflictingKeys, ex.Problem);
            Assert.Contains("'gnn'", ex.Message);
        }

        [Fact]
        public void Sweeps_above_the_guard_are_refused_before_any_config_is_made()
        {
            var big = Grid(("a", Enumerable.Range(0, 1000).Select(i => (object?)(long)i).ToList()),
                           ("b", Enumerable.Range(0, 1000).Select(i => (object?)(long)i).ToList()),
                           ("c", Enumerable.Range(0, 1000).Select(i => (object?)(long)i).ToList()));
            var started = DateTime.UtcNow;
            var ex = Assert.Throws<SweepDefinitionException>(() => SweepExpander.Expand(big));
            Assert.Equal(SweepProblem.TooLarge, ex.Problem);
            Assert.Contains("1,000,000,000", ex.Message);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));

            var fits = Grid(("a", L(1L, 2L, 3L)));
            fits.MaxConfigs = 3;
            Assert.Equal(3, SweepExpander.Expand(fits).Count);
            fits.MaxConfigs = 2;
            Assert.Equal(SweepProblem.TooLarge, Assert.Throws<SweepDefinitionException>(() => SweepExpander.Expand(fits)).Problem);
        }

        [Fact]
        public void Label_templates_fill_swept_and_base_keys_with_formats()
        {
            var s = Grid(("lr", L(0.00123456)), ("seed", L(1L)));
            s.Name = "poc";
            s.Base = new Dictionary<string, object?> { ["data"] = new Dictionary<string, object?> { ["name"] = "sbm" } };
            s.LabelTemplate = "{name}_{data.name}_lr{lr:G2}_s{seed}_#{index}";
            Assert.Equal("poc_sbm_lr0.0012_s1_#1", SweepExpander.Expand(s)[0].Label);

            s.LabelTemplate = "{nope}";
            var ex = Assert.Throws<SweepDefinitionException>(() => SweepExpander.Expand(s));
            Assert.Contains("'{nope}'", ex.Message);
        }
    }
}
