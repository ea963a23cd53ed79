using System;
using System.ComponentModel;
using System.IO;
using System.Runtime.InteropServices;

namespace RayRunner.Core
{
    /// <summary>
    /// File operations for the run store: folders and files readable by their owner alone
    /// (0700/0600 on Unix), and writes that are all-or-nothing (temp file in the same folder,
    /// renamed over the target; flushed to disk first when the write must survive a power cut).
    /// </summary>
    /// <remarks>
    /// netstandard2.0 has neither File.SetUnixFileMode nor a File.Move that overwrites, so on Unix
    /// chmod(2) and rename(2) come from libc (the runtime maps "libc" to the C library on Linux and
    /// macOS). On Windows the files inherit the user profile's ACL and File.Replace swaps atomically.
    /// </remarks>
    internal static class PrivateFiles
    {
        public const int FileMode = 0x180; // 0600
        public const int FolderMode = 0x1C0; // 0700

        public static readonly bool IsUnix =
            RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ||
            RuntimeInformation.IsOSPlatform(OSPlatform.Create("FREEBSD"));

        /// <summary>Creates the folder (and missing parents) and makes it private.</summary>
        public static void CreateFolder(string path)
        {
            Directory.CreateDirectory(path);
            SetMode(path, FolderMode);
        }

        /// <summary>
        /// Writes <paramref name="content"/> to <paramref name="path"/> so that readers see either the
        /// old file or the whole new one, never a part, even when this process is killed midway.
        /// </summary>
        /// <param name="flushToDisk">
        /// fsync the data before the rename, so the new file also survives a power cut or an OS
        /// crash. A killed process needs no fsync (its writes are already in the OS's page cache),
        /// and an fsync costs about a millisecond, so callers pay it only for what must outlive the
        /// machine (a run's final result); see docs/run-store.md, "Durability".
        /// </param>
        public static void WriteAtomic(string path, byte[] content, bool flushToDisk = true)
        {
            var temp = TempFor(path);
            try
            {
                using (var stream = new FileStream(temp, System.IO.FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096))
                {
                    SetMode(temp, FileMode); // before any byte is written
                    stream.Write(content, 0, content.Length);
                    stream.Flush(flushToDisk);
                }
                Replace(temp, path);
            }
            catch
            {
                TryDelete(temp);
                throw;
            }
        }

        /// <summary>
        /// The first half of a durable <see cref="WriteAtomic"/>: writes and flushes the content to a
        /// private temp file beside <paramref name="path"/> and returns its name, for
        /// <see cref="TryCommit"/> to rename into place. It lets a caller pay the fsync (about a
        /// millisecond) before it takes a lock, so writers do not queue behind each other's flushes.
        /// Null when a clean-up of crash leftovers (which runs under the lock) swept the file while
        /// it was being written: the caller then writes under the lock.
        /// </summary>
        public static string? WriteFlushedTemp(string path, byte[] content)
        {
            var temp = TempFor(path);
            try
            {
                using var stream = new FileStream(temp, System.IO.FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096);
                SetMode(temp, FileMode);
                stream.Write(content, 0, content.Length);
                stream.Flush(flushToDisk: true);
            }
            catch (IOException) when (!File.Exists(temp))
            {
                return null;
            }
            catch
            {
                TryDelete(temp);
                throw;
            }
            return temp;
        }

        /// <summary>
        /// Renames a temp file from <see cref="WriteFlushedTemp"/> over <paramref name="path"/>; false when
        /// the temp file is gone (a cleanup of crash leftovers took it), so the caller writes again.
        /// </summary>
        public static bool TryCommit(string temp, string path)
        {
            if (!File.Exists(temp)) return false;
            try
            {
                Replace(temp, path);
                return true;
            }
            catch (IOException) when (!File.Exists(temp))
            {
                return false;
            }
        }

        static string TempFor(string path) =>
            Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + TempSuffix);

        /// <summary>Leftovers of a write interrupted by a crash end with this; they are never read.</summary>
        public const string TempSuffix = ".tmp";

        /// <summary>
        /// Appends bytes in one write (so a killed process leaves whole lines or none); creates the
        /// file private. Not flushed to disk: used for caches that are checked and rebuilt anyway.
        /// </summary>
        public static void Append(string path, byte[] content)
        {
            var isNew = !File.Exists(path);
            using var stream = new FileStream(path, System.IO.FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 4096);
            if (isNew) SetMode(path, FileMode);
            stream.Write(content, 0, content.Length);
        }

        /// <summary>Creates an empty private file if it does not exist.</summary>
        public static void Touch(string path)
        {
            using (new FileStream(path, System.IO.FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite)) { }
            SetMode(path, FileMode);
        }

        static void Replace(string source, string target)
        {
            if (IsUnix)
            {
                if (NativeMethods.rename(source, target) != 0)
                    throw new IOException($"Could not rename '{source}' to '{target}': {new Win32Exception(Marshal.GetLastWin32Error()).Message}");
                return;
            }
            if (File.Exists(target)) File.Replace(source, target, null, ignoreMetadataErrors: true);
            else File.Move(source, target);
        }

        public static void SetMode(string path, int mode)
        {
            if (!IsUnix) return;
            if (NativeMethods.chmod(path, mode) != 0)
                throw new IOException($"Could not make '{path}' private (chmod {Convert.ToString(mode, 8)}): {new Win32Exception(Marshal.GetLastWin32Error()).Message}");
        }

        /// <summary>The Unix permission bits of a file or folder (tests and diagnostics); -1 off Unix.</summary>
        public static int GetMode(string path)
        {
            if (!IsUnix) return -1;
            // No stat(2) wrapper in netstandard2.0 that is portable across libc versions; ask ls-free:
            // the runtime's FileSystemInfo exposes UnixFileMode on .NET 7+, read through reflection.
            var info = Directory.Exists(path) ? (FileSystemInfo)new DirectoryInfo(path) : new FileInfo(path);
            var prop = info.GetType().GetProperty("UnixFileMode");
            return prop == null ? -1 : Convert.ToInt32(prop.GetValue(info));
        }

        public static void TryDelete(string path)
        {
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        static class NativeMethods
        {
            [DllImport("libc", SetLastError = true)]
            public static extern int chmod([MarshalAs(UnmanagedType.LPStr)] string path, int mode);

            [DllImport("libc", SetLastError = true)]
            public static extern int rename([MarshalAs(UnmanagedType.LPStr)] string oldPath, [MarshalAs(UnmanagedType.LPStr)] string newPath);
        }
    }
}
