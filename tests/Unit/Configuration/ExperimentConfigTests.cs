using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using RayRunner.Core;
using Xunit;

namespace RayRunner.Tests.Unit.Configuration
{
    public class ExperimentConfigTests
    {
        [Fact]
        public void NormalizesHashtablesListsAndNumbersIntoOneShape()
        {
            var config = new Hashtable
            {
                ["lr"] = 0.01f,
                ["epochs"] = 10,
                ["big"] = 5_000_000_000L,
                ["price"] = 1.5m,
                ["name"] = "resnet",
                ["flag"] = true,
                ["none"] = null,
                ["layers"] = new object[] { 1, "two", new[] { 3.0 } },
                ["model"] = new Hashtable { ["dim"] = (byte)64 },
            };

            var map = ExperimentConfig.Normalize(config);

            Assert.IsType<double>(map["lr"]);
            Assert.Equal(10L, map["epochs"]);
            Assert.Equal(5_000_000_000L, map["big"]);
            Assert.Equal(1.5, map["price"]);
            Assert.Equal("resnet", map["name"]);
            Assert.Equal(true, map["flag"]);
            Assert.Null(map["none"]);
            var layers = Assert.IsType<List<object?>>(map["layers"]);
            Assert.Equal(1L, layers[0]);
            Assert.Equal(new List<object?> { 3.0 }, layers[2]);
            Assert.Equal(64L, ((Dictionary<string, object?>)map["model"]!)["dim"]);
        }

        [Fact]
        public void ReadsAJsonObject()
        {
            var map = ExperimentConfig.Normalize("{\"lr\": 0.1, \"model\": {\"layers\": [1, 2]}, \"tag\": null}");

            Assert.Equal(0.1, map["lr"]);
            Assert.Equal(new List<object?> { 1L, 2L }, ((Dictionary<string, object?>)map["model"]!)["layers"]);
            Assert.True(map.ContainsKey("tag"));
        }

        [Theory]
        [InlineData("[1,2]", "must be an object")]
        [InlineData("{not json", "not valid JSON")]
        public void RejectsJsonThatIsNotAnObject(string json, string expected)
        {
            var ex = Assert.Throws<ConfigValidationException>(() => ExperimentConfig.Normalize(json));
            Assert.Contains(expected, ex.Message);
        }

        [Fact]
        public void RejectsUnsupportedValuesNamingTheKeyPath()
        {
            var config = new Dictionary<string, object?>
            {
                ["model"] = new Dictionary<string, object?> { ["layers"] = new List<object?> { 1, 2, new System.IO.FileInfo("/tmp/x") } },
            };

            var ex = Assert.Throws<ConfigValidationException>(() => ExperimentConfig.Normalize(config));

            Assert.Equal("model.layers[2]", ex.KeyPath);
            Assert.Contains("'model.layers[2]'", ex.Message);
            Assert.Contains("System.IO.FileInfo", ex.Message);
            Assert.Contains("Use numbers, strings, booleans, null, lists or nested maps", ex.Message);
        }

        [Theory]
        [InlineData("a.b")]
        [InlineData("a=b")]
        [InlineData("a b")]
        [InlineData("")]
        public void RejectsKeysThatWouldChangeMeaningAsOverrides(string key)
        {
            var ex = Assert.Throws<ConfigValidationException>(() =>
                ExperimentConfig.Normalize(new Dictionary<string, object?> { ["model"] = new Dictionary<string, object?> { [key] = 1 } }));
            Assert.StartsWith("model", ex.KeyPath);
        }

        [Fact]
        public void RejectsNonFiniteNumbersAndNonStringKeys()
        {
            Assert.Contains("NaN", Assert.Throws<ConfigValidationException>(() =>
                ExperimentConfig.Normalize(new Hashtable { ["lr"] = double.NaN })).Message);
            Assert.Contains("keys must be strings", Assert.Throws<ConfigValidationException>(() =>
                ExperimentConfig.Normalize(new Hashtable { [1] = "x" })).Message);
        }

        [Fact]
        public void RejectsAMapThatContainsItself()
        {
            var loop = new Hashtable();
            loop["self"] = loop;

            var ex = Assert.Throws<ConfigValidationException>(() => ExperimentConfig.Normalize(loop));

            Assert.Contains("deeper than", ex.Message);
        }

        [Fact]
        public void RejectsNullAndNonMaps()
        {
            Assert.Throws<ConfigValidationException>(() => ExperimentConfig.Normalize(null));
            Assert.Contains("must be a map", Assert.Throws<ConfigValidationException>(() => ExperimentConfig.Normalize(42)).Message);
        }

        [Fact]
        public void UnwrapHookLetsTheModuleHandWrapperTypes()
        {
            var map = ExperimentConfig.Normalize(new Hashtable { ["lr"] = new Wrapper(0.5) }, v => v is Wrapper w ? w.Inner : v);
            Assert.Equal(0.5, map["lr"]);
        }

        sealed record Wrapper(object Inner);
    }

    public class ConfigHashTests
    {
        [Fact]
        public void IsIndependentOfKeyOrderNumberSpellingAndRunId()
        {
            var a = ExperimentConfig.Normalize("{\"lr\": 1, \"model\": {\"b\": 2, \"a\": [1, 2]}, \"run_id\": \"x\"}");
            var b = ExperimentConfig.Normalize(new Hashtable { ["model"] = new Hashtable { ["a"] = new[] { 1, 2 }, ["b"] = 2.0 }, ["lr"] = 1.0 });

            Assert.Equal(ConfigHash.Compute(a), ConfigHash.Compute(b));
            Assert.Equal(64, ConfigHash.Compute(a).Length);
        }

        [Fact]
        public void ChangesWhenAnyValueChanges()
        {
            var a = ExperimentConfig.Normalize("{\"lr\": 0.1, \"model\": {\"dim\": 64}}");
            var b = ExperimentConfig.Normalize("{\"lr\": 0.1, \"model\": {\"dim\": 65}}");
            var c = ExperimentConfig.Normalize("{\"lr\": 0.1, \"model\": {\"dim\": \"64\"}}");

            Assert.NotEqual(ConfigHash.Compute(a), ConfigHash.Compute(b));
            Assert.NotEqual(ConfigHash.Compute(a), ConfigHash.Compute(c));
        }
    }

    public class RunIdsTests
    {
        [Fact]
        public void NewIdsAreEightLowerHexAndDistinct()
        {
            var ids = Enumerable.Range(0, 1000).Select(_ => RunIds.New()).ToList();
            Assert.All(ids, id => Assert.Matches("^[0-9a-f]{8}$", id));
            Assert.True(ids.Distinct().Count() > 990);
        }

        [Theory]
        [InlineData("00012345", true)]
        [InlineData("1e234567", true)]
        [InlineData("1234567d", true)]
        [InlineData("e1234567", false)]
        [InlineData("1234abcd", false)]
        [InlineData("12e45a67", false)]
        public void KnowsWhichIdsPowerShellWouldReadAsNumbers(string id, bool number)
        {
            Assert.Equal(number, RunIds.ReadsAsNumber(id));
        }

        [Fact]
        public void NewIdsNeverReadAsNumbersWhenTypedBare()
        {
            // About 3% of raw 8-hex draws look like numbers; 5,000 draws would show ~150 of them.
            Assert.DoesNotContain(Enumerable.Range(0, 5000).Select(_ => RunIds.New()), RunIds.ReadsAsNumber);
        }

        [Theory]
        [InlineData("a", true)]
        [InlineData("lr-0.01_seed.1", true)]
        [InlineData("../x", false)]
        [InlineData("..", false)]
        [InlineData("a/b", false)]
        [InlineData("a\\b", false)]
        [InlineData("-flag", false)]
        [InlineData("", false)]
        [InlineData("x y", false)]
        public void UserIdsMustStayInsideTheirFolder(string id, bool valid)
        {
            Assert.Equal(valid, RunIds.IsValid(id));
        }

        [Fact]
        public void TooLongIdsAreRejectedWithTheRuleInWords()
        {
            var ex = Assert.Throws<ArgumentException>(() => RunIds.Validate(new string('a', 65)));
            Assert.Contains("1 to 64 characters", ex.Message);
            Assert.DoesNotContain(RunIds.Pattern, ex.Message); // a user reads the rule, not a regular expression
        }
    }
}
