using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Security.Cryptography;
using System.Text;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// Packs a working directory the way Ray's SDK does before a submit (shared/ray/jobs-rest-api.md
    /// §6): the same files left out (default excludes, .gitignore at every level, .rayignore, user
    /// excludes), a name derived from the content (<c>_ray_pkg_&lt;16 hex&gt;.zip</c>), entries relative
    /// to the folder with no top-level folder.
    /// </summary>
    /// <remarks>
    /// The content address follows packaging.py: for every kept path, directories included (the
    /// root as "."), SHA-1 of its relative path text then its bytes; the first 8 bytes of each are
    /// XOR-folded into an accumulator that starts as ASCII "00000000". The server never checks the
    /// hash; what matters is that the name changes whenever the content does. Unlike Ray, the root
    /// itself is never excluded, so a pattern such as ".*" cannot empty the hash (ray#53635).
    /// </remarks>
    public sealed class WorkingDirPackage
    {
        public static readonly IReadOnlyList<string> DefaultExcludes = new[] { ".git", ".venv", "venv", "__pycache__" };
        public const string DefaultExcludesOverrideEnv = "RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES";
        public const string IgnoreGitignoreEnv = "RAY_RUNTIME_ENV_IGNORE_GITIGNORE";

        WorkingDirPackage(string root, IReadOnlyList<PackageEntry> entries)
        {
            Root = root;
            Entries = entries;
        }

        public string Root { get; }
        /// <summary>Kept paths in walk order; directories end with '/'.</summary>
        public IReadOnlyList<PackageEntry> Entries { get; }

        /// <summary>Relative paths of the kept files (not directories), '/'-separated, sorted.</summary>
        public IReadOnlyList<string> Files => Entries.Where(e => !e.IsDirectory).Select(e => e.RelativePath).OrderBy(p => p, StringComparer.Ordinal).ToList();

        /// <summary>Sizes and write times of every kept path: equal fingerprints mean the content need not be hashed again.</summary>
        public string Fingerprint()
        {
            var sb = new StringBuilder();
            foreach (var e in Entries.OrderBy(e => e.RelativePath, StringComparer.Ordinal))
                sb.Append(e.RelativePath).Append('|').Append(e.Length).Append('|').Append(e.LastWriteTicks).Append('\n');
            using var sha = SHA256.Create();
            return ToHex(sha.ComputeHash(Encoding.UTF8.GetBytes(sb.ToString())));
        }

        /// <summary>Walks <paramref name="directory"/> and keeps what Ray would upload.</summary>
        public static WorkingDirPackage Scan(string directory, IReadOnlyList<string>? userExcludes, Func<string, string?> env)
        {
            if (string.IsNullOrWhiteSpace(directory)) throw new ArgumentException("The working directory is empty.", nameof(directory));
            var root = Path.GetFullPath(directory);
            if (!Directory.Exists(root))
                throw new RayPackageException($"The working directory '{directory}' does not exist. Give an existing folder, or leave -WorkingDirectory out.");

            var patterns = new List<string>();
            var overrideDefaults = env(DefaultExcludesOverrideEnv);
            if (overrideDefaults == null) patterns.AddRange(DefaultExcludes);
            else patterns.AddRange(overrideDefaults.Split(',').Select(p => p.Trim()).Where(p => p.Length > 0));
            if (userExcludes != null) patterns.AddRange(userExcludes);
            var top = new GitWildMatch(patterns);
            var useGitignore = env(IgnoreGitignoreEnv) != "1";

            var entries = new List<PackageEntry> { new PackageEntry(".", root, true, 0, 0) };
            var scopes = new List<(string Prefix, GitWildMatch Rules)>();
            Walk(root, "", top, scopes, useGitignore, entries);
            return new WorkingDirPackage(root, entries);
        }

        static void Walk(string dir, string relDir, GitWildMatch top, List<(string Prefix, GitWildMatch Rules)> scopes, bool useGitignore, List<PackageEntry> entries)
        {
            var added = 0;
            foreach (var name in useGitignore ? new[] { ".gitignore", ".rayignore" } : new[] { ".rayignore" })
            {
                var file = Path.Combine(dir, name);
                if (!File.Exists(file)) continue;
                scopes.Add((relDir, new GitWildMatch(ReadLines(file))));
                added++;
            }

            IEnumerable<string> children;
            try
            {
                children = Directory.EnumerateFileSystemEntries(dir).OrderBy(p => p, StringComparer.Ordinal).ToList();
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new RayPackageException($"The folder '{dir}' of the working directory cannot be read: {ex.Message}", ex);
            }

            foreach (var child in children)
            {
                var name = Path.GetFileName(child);
                var rel = relDir.Length == 0 ? name : relDir + "/" + name;
                var isDir = Directory.Exists(child);
                if (IsExcluded(rel, isDir, top, scopes)) continue;
                if (isDir)
                {
                    entries.Add(new PackageEntry(rel, child, true, 0, 0));
                    Walk(child, rel, top, scopes, useGitignore, entries);
                }
                else
                {
                    var info = new FileInfo(child);
                    entries.Add(new PackageEntry(rel, child, false, info.Length, info.LastWriteTimeUtc.Ticks));
                }
            }
            scopes.RemoveRange(scopes.Count - added, added);
        }

        static bool IsExcluded(string rel, bool isDir, GitWildMatch top, List<(string Prefix, GitWildMatch Rules)> scopes)
        {
            if (top.Match(rel, isDir) == true) return true;
            // Ray adds each ignore file as a separate matcher relative to its own folder; any match excludes.
            foreach (var (prefix, rules) in scopes)
            {
                var local = prefix.Length == 0 ? rel : rel.Substring(prefix.Length + 1);
                if (rules.Match(local, isDir) == true) return true;
            }
            return false;
        }

        static IEnumerable<string> ReadLines(string file)
        {
            try
            {
                return File.ReadAllLines(file);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new RayPackageException($"The ignore file '{file}' cannot be read: {ex.Message}", ex);
            }
        }

        /// <summary>The content address, as Ray names packages: <c>_ray_pkg_&lt;16 hex&gt;.zip</c>.</summary>
        public string ComputePackageName()
        {
            var acc = Encoding.ASCII.GetBytes("00000000");
            var buffer = new byte[81920];
            using var sha = SHA1.Create();
            foreach (var e in Entries)
            {
                sha.Initialize();
                var pathBytes = Encoding.UTF8.GetBytes(e.RelativePath);
                sha.TransformBlock(pathBytes, 0, pathBytes.Length, null, 0);
                if (!e.IsDirectory)
                {
                    try
                    {
                        using var f = File.OpenRead(e.FullPath);
                        int n;
                        while ((n = f.Read(buffer, 0, buffer.Length)) > 0) sha.TransformBlock(buffer, 0, n, null, 0);
                    }
                    catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                    {
                        throw new RayPackageException($"The file '{e.FullPath}' of the working directory cannot be read: {ex.Message}", ex);
                    }
                }
                sha.TransformFinalBlock(new byte[0], 0, 0);
                var digest = sha.Hash!;
                for (var i = 0; i < 8; i++) acc[i] ^= digest[i];
            }
            return "_ray_pkg_" + ToHex(acc) + ".zip";
        }

        /// <summary>
        /// Writes the zip to <paramref name="zipPath"/>, stopping as soon as it passes
        /// <paramref name="maxBytes"/> (nothing is uploaded then). Returns the zip's size.
        /// </summary>
        public long WriteZip(string zipPath, long maxBytes)
        {
            using (var file = new FileStream(zipPath, FileMode.Create, FileAccess.ReadWrite, FileShare.None))
            {
                using (var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true))
                {
                    foreach (var e in Entries)
                    {
                        if (e.RelativePath == ".") continue;
                        if (e.IsDirectory)
                        {
                            zip.CreateEntry(e.RelativePath + "/");
                            continue;
                        }
                        var entry = zip.CreateEntry(e.RelativePath, CompressionLevel.Optimal);
                        using (var target = entry.Open())
                        using (var source = File.OpenRead(e.FullPath))
                            source.CopyTo(target);
                        if (file.Length > maxBytes) throw TooBig(file.Length, maxBytes);
                    }
                }
                if (file.Length > maxBytes) throw TooBig(file.Length, maxBytes);
                return file.Length;
            }
        }

        RayPackageException TooBig(long size, long maxBytes) =>
            new RayPackageException(
                $"The working directory '{Root}' packs to more than {maxBytes / (1024.0 * 1024):0.#} MiB ({size / (1024.0 * 1024):0.#} MiB so far), above what the Ray dashboard accepts in one upload. " +
                "Leave large files out with a .rayignore file or the excludes, or keep data in shared or cloud storage and read it from there.");

        static string ToHex(byte[] bytes)
        {
            var sb = new StringBuilder(bytes.Length * 2);
            foreach (var b in bytes) sb.Append(b.ToString("x2"));
            return sb.ToString();
        }
    }

    /// <summary>One kept path of a working directory.</summary>
    public sealed class PackageEntry
    {
        public PackageEntry(string relativePath, string fullPath, bool isDirectory, long length, long lastWriteTicks)
        {
            RelativePath = relativePath;
            FullPath = fullPath;
            IsDirectory = isDirectory;
            Length = length;
            LastWriteTicks = lastWriteTicks;
        }

        public string RelativePath { get; }
        public string FullPath { get; }
        public bool IsDirectory { get; }
        public long Length { get; }
        public long LastWriteTicks { get; }
    }
}
