using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Threading;

namespace RayRunner.Core
{
    /// <summary>
    /// The store-wide lock: a monitor for the threads of this process, and an OS lock on the file
    /// <c>store.lock</c> for other processes (a FileStream opened with FileShare.None: flock(2) on
    /// Unix, a share lock on Windows). The OS drops the file lock when its process dies, so a killed
    /// process never leaves the store locked.
    /// </summary>
    internal sealed class StoreLock
    {
        // One monitor per store folder for the whole process: two FileRunStore objects over the same
        // folder must not spin against each other's file lock.
        static readonly ConcurrentDictionary<string, StoreLock> ByPath = new ConcurrentDictionary<string, StoreLock>(
            PrivateFiles.IsUnix ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase);

        readonly string _path;
        readonly object _monitor = new object();
        int _depth;
        FileStream? _held;

        StoreLock(string path) => _path = path;

        public static StoreLock For(string lockFilePath) => ByPath.GetOrAdd(Path.GetFullPath(lockFilePath), p => new StoreLock(p));

        /// <summary>How long to wait for another process before giving up with a clear error.</summary>
        public static TimeSpan AcquireTimeout { get; set; } = TimeSpan.FromSeconds(60);

        public T Run<T>(Func<T> action)
        {
            Monitor.Enter(_monitor);
            try
            {
                if (_depth == 0) _held = AcquireFileLock();
                _depth++;
                try
                {
                    return action();
                }
                finally
                {
                    if (--_depth == 0)
                    {
                        _held?.Dispose();
                        _held = null;
                    }
                }
            }
            finally
            {
                Monitor.Exit(_monitor);
            }
        }

        FileStream AcquireFileLock()
        {
            // .NET has no blocking flock, so retry with a short, growing pause: critical sections are
            // a few file writes long, so waits are short.
            var clock = Stopwatch.StartNew();
            var backoff = new Backoff(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(50));
            while (true)
            {
                try
                {
                    var stream = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
                    return stream;
                }
                catch (IOException) when (clock.Elapsed < AcquireTimeout)
                {
                    Thread.Sleep(backoff.Next());
                }
                catch (IOException ex)
                {
                    throw new IOException(
                        $"The run store is locked by another process (lock file '{_path}') and stayed locked for {AcquireTimeout.TotalSeconds:0} s. " +
                        "If no other RayRunner process is running, something else holds the file open; close it and retry.", ex);
                }
            }
        }
    }
}
