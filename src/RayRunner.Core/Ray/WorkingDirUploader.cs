using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// Ships working directories to the head once per sweep: a folder whose files are unchanged
    /// (same fingerprint) reuses its package name without hashing, zipping or uploading again, and
    /// concurrent submits of one folder share one upload. The head is asked (GET) before any PUT;
    /// the GET is repeated when the last one is older than Ray's 10-minute pin.
    /// </summary>
    internal sealed class WorkingDirUploader
    {
        static readonly TimeSpan RecheckAfter = TimeSpan.FromMinutes(5);

        readonly RayJobsClient _client;
        readonly RayBackendOptions _options;
        readonly object _gate = new object();
        readonly Dictionary<string, Entry> _cache = new Dictionary<string, Entry>(StringComparer.Ordinal);

        readonly CancellationToken _lifetime;

        public WorkingDirUploader(RayJobsClient client, RayBackendOptions options, CancellationToken lifetime)
        {
            _client = client;
            _options = options;
            _lifetime = lifetime;
        }

        /// <summary>Packages actually PUT to the head (for tests and diagnostics).</summary>
        public int Uploads;

        sealed class Entry
        {
            public Entry(string fingerprint, Task<string> upload)
            {
                Fingerprint = fingerprint;
                Upload = upload;
            }

            public string Fingerprint { get; }
            public Task<string> Upload { get; }
            public DateTimeOffset VerifiedAt = DateTimeOffset.UtcNow;
        }

        /// <summary>The <c>gcs://_ray_pkg_….zip</c> URI for <paramref name="directory"/>, uploaded if the head lacks it.</summary>
        public async Task<string> EnsureUploadedAsync(string directory, CancellationToken ct)
        {
            var package = WorkingDirPackage.Scan(directory, _options.WorkingDirExcludes, _options.Environment);
            var fingerprint = package.Fingerprint();
            Entry entry;
            lock (_gate)
            {
                if (!_cache.TryGetValue(package.Root, out entry!) || entry.Fingerprint != fingerprint || entry.Upload.IsFaulted || entry.Upload.IsCanceled)
                {
                    // Not tied to one caller's token: other submits of the same folder share it. It ends
                    // with the backend (its lifetime).
                    entry = new Entry(fingerprint, Task.Run(() => UploadAsync(package, _lifetime)));
                    _cache[package.Root] = entry;
                }
            }
            var uri = await Waits.WithCancellation(entry.Upload, ct).ConfigureAwait(false);
            if (DateTimeOffset.UtcNow - entry.VerifiedAt > RecheckAfter)
            {
                // Past the pin window the head may have collected the package: look, and re-send if gone.
                var name = uri.Substring("gcs://".Length);
                if (!await _client.PackageExistsAsync(name, ct).ConfigureAwait(false))
                    await UploadAsync(package, ct).ConfigureAwait(false);
                entry.VerifiedAt = DateTimeOffset.UtcNow;
            }
            return uri;
        }

        async Task<string> UploadAsync(WorkingDirPackage package, CancellationToken ct)
        {
            var name = package.ComputePackageName();
            if (!await _client.PackageExistsAsync(name, ct).ConfigureAwait(false))
            {
                var zip = Path.Combine(Path.GetTempPath(), "rayrunner-" + Guid.NewGuid().ToString("N") + ".zip");
                try
                {
                    package.WriteZip(zip, _options.MaxPackageBytes);
                    await _client.UploadPackageAsync(name, zip, ct).ConfigureAwait(false);
                    Interlocked.Increment(ref Uploads);
                }
                finally
                {
                    try { File.Delete(zip); } catch (IOException) { }
                }
            }
            return "gcs://" + name;
        }
    }
}
