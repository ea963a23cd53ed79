using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using RayRunner.Core.Ray;
using Xunit;

namespace RayRunner.Tests.Unit.Ray
{
    public class WorkingDirPackageTests
    {
        static string Write(string root, string rel, string content = "x")
        {
            var path = Path.Combine(root, rel.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, content);
            return path;
        }

        static WorkingDirPackage Scan(string dir, IReadOnlyList<string>? excludes = null, IDictionary<string, string>? env = null) =>
            WorkingDirPackage.Scan(dir, excludes, RayTestSupport.Env(env));

        [Fact]
        public void The_name_is_the_xor_fold_of_sha1_over_path_and_bytes_as_Ray_computes_it()
        {
            var dir = RayTestSupport.NewTempDir();
            Write(dir, "main.py", "print(1)\n");
            Write(dir, "pkg/util.py", "X = 2\n");

            // Independent computation of packaging.py's rule: kept paths incl. "." and directories.
            var acc = Encoding.ASCII.GetBytes("00000000");
            foreach (var (rel, bytes) in new[] { (".", ""), ("main.py", "print(1)\n"), ("pkg", ""), ("pkg/util.py", "X = 2\n") })
            {
                var digest = SHA1.HashData(Encoding.UTF8.GetBytes(rel).Concat(Encoding.UTF8.GetBytes(bytes)).ToArray());
                for (var i = 0; i < 8; i++) acc[i] ^= digest[i];
            }
            var expected = "_ray_pkg_" + Convert.ToHexString(acc).ToLowerInvariant() + ".zip";

            var name = Scan(dir).ComputePackageName();
            Assert.Equal(expected, name);
            Assert.Matches("^_ray_pkg_[0-9a-f]{16}\\.zip$", name);
        }

        [Fact]
        public void The_name_changes_with_content_and_stays_with_unchanged_content()
        {
            var dir = RayTestSupport.NewTempDir();
            var file = Write(dir, "a.txt", "one");
            var first = Scan(dir).ComputePackageName();
            Assert.Equal(first, Scan(dir).ComputePackageName());
            File.WriteAllText(file, "two");
            Assert.NotEqual(first, Scan(dir).ComputePackageName());
            File.WriteAllText(file, "one");
            Write(dir, "b.txt", "");
            Assert.NotEqual(first, Scan(dir).ComputePackageName());
        }

        [Fact]
        public void Default_excludes_apply_at_every_level_and_can_be_overridden()
        {
            var dir = RayTestSupport.NewTempDir();
            Write(dir, "keep.py");
            Write(dir, ".git/HEAD");
            Write(dir, "venv/bin/python");
            Write(dir, ".venv/x");
            Write(dir, "src/__pycache__/m.pyc");
            Write(dir, "src/m.py");

            Assert.Equal(new[] { "keep.py", "src/m.py" }, Scan(dir).Files);
            // An empty override turns the defaults off; a list replaces them.
            Assert.Contains(".git/HEAD", Scan(dir, env: new Dictionary<string, string> { [WorkingDirPackage.DefaultExcludesOverrideEnv] = "" }).Files);
            var onlyVenv = Scan(dir, env: new Dictionary<string, string> { [WorkingDirPackage.DefaultExcludesOverrideEnv] = "venv" }).Files;
            Assert.Contains(".git/HEAD", onlyVenv);
            Assert.DoesNotContain("venv/bin/python", onlyVenv);
        }

        [Fact]
        public void Gitignore_at_every_level_rayignore_and_user_excludes_are_honoured()
        {
            var dir = RayTestSupport.NewTempDir();
            Write(dir, ".gitignore", "# build output\n*.log\n!keep.log\n/data/\n");
            Write(dir, ".rayignore", "checkpoints/\n");
            Write(dir, "a.log");
            Write(dir, "keep.log");
            Write(dir, "data/big.bin");
            Write(dir, "src/data/small.txt");       // "/data/" is anchored to the root
            Write(dir, "src/.gitignore", "secret.txt\nsub/**/gen_*.py\n");
            Write(dir, "src/secret.txt");
            Write(dir, "secret.txt");               // the nested .gitignore does not reach up
            Write(dir, "src/sub/x/y/gen_1.py");
            Write(dir, "src/sub/x/y/real.py");
            Write(dir, "checkpoints/c.pt");
            Write(dir, "notes/tmp.md");
            Write(dir, "main.py");

            var files = Scan(dir, excludes: new[] { "notes" }).Files;
            Assert.Equal(new[]
            {
                ".gitignore", ".rayignore", "keep.log", "main.py", "secret.txt",
                "src/.gitignore", "src/data/small.txt", "src/sub/x/y/real.py",
            }, files);

            // RAY_RUNTIME_ENV_IGNORE_GITIGNORE=1 turns .gitignore off, never .rayignore.
            var noGit = Scan(dir, env: new Dictionary<string, string> { [WorkingDirPackage.IgnoreGitignoreEnv] = "1" }).Files;
            Assert.Contains("a.log", noGit);
            Assert.Contains("src/secret.txt", noGit);
            Assert.DoesNotContain("checkpoints/c.pt", noGit);
        }

        [Fact]
        public void A_dot_star_exclude_cannot_empty_the_hash()
        {
            // ray#53635: excluding ".*" matched the root and every package got the same name.
            var dir = RayTestSupport.NewTempDir();
            var file = Write(dir, "a.py", "1");
            var before = Scan(dir, excludes: new[] { ".*" }).ComputePackageName();
            File.WriteAllText(file, "2");
            Assert.NotEqual(before, Scan(dir, excludes: new[] { ".*" }).ComputePackageName());
            Assert.NotEqual("_ray_pkg_3030303030303030.zip", before);
        }

        [Fact]
        public void The_zip_holds_entries_relative_to_the_folder_with_directories()
        {
            var dir = RayTestSupport.NewTempDir();
            Write(dir, "main.py", "print(1)");
            Write(dir, "pkg/util.py", "X = 2");
            Directory.CreateDirectory(Path.Combine(dir, "empty"));
            var zip = Path.Combine(RayTestSupport.NewTempDir(), "p.zip");
            Scan(dir).WriteZip(zip, long.MaxValue);
            using var archive = ZipFile.OpenRead(zip);
            Assert.Equal(new[] { "empty/", "main.py", "pkg/", "pkg/util.py" }, archive.Entries.Select(e => e.FullName).OrderBy(n => n, StringComparer.Ordinal));
            using var reader = new StreamReader(archive.GetEntry("pkg/util.py")!.Open());
            Assert.Equal("X = 2", reader.ReadToEnd());
        }

        [Fact]
        public void A_package_over_the_limit_is_refused_with_a_clear_message()
        {
            var dir = RayTestSupport.NewTempDir();
            var random = new byte[200_000];
            new Random(1).NextBytes(random); // incompressible
            File.WriteAllBytes(Path.Combine(dir, "weights.bin"), random);
            var zip = Path.Combine(RayTestSupport.NewTempDir(), "p.zip");
            var ex = Assert.Throws<RayPackageException>(() => Scan(dir).WriteZip(zip, 100_000));
            Assert.Contains(".rayignore", ex.Message);
            Assert.Contains("MiB", ex.Message);
        }

        [Fact]
        public void A_missing_folder_is_a_clear_error()
        {
            var ex = Assert.Throws<RayPackageException>(() => Scan(Path.Combine(Path.GetTempPath(), "does-not-exist-" + Guid.NewGuid())));
            Assert.Contains("does not exist", ex.Message);
        }
    }
}
