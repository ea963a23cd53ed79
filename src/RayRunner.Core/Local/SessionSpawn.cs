using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.IO.Pipes;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// Linux: starts a detached run's trampoline with posix_spawn in a session of its own
    /// (POSIX_SPAWN_SETSID), instead of exec'ing util-linux <c>setsid</c> first. Measured (issue 14):
    /// the setsid exec cost about 1 ms of CPU per run, as much as the run's own command, and this
    /// also drops System.Diagnostics.Process's per-child bookkeeping.
    /// </summary>
    /// <remarks>
    /// <para><b>Its end.</b> The child gets the write end of a pipe as fd 3 (the trampoline closes it
    /// for the user's command, so the command's own children cannot hold it); the read end here sees
    /// end-of-file when the trampoline exits, after it wrote the exit file. The child is then reaped
    /// with waitpid on its own pid: never waitpid(-1), which would steal the children that .NET's
    /// Process class (and so pwsh's native commands) waits for. .NET's SIGCHLD handler only reaps
    /// the pids it started, so it leaves this one alone.</para>
    /// <para><b>Nothing leaks into other children.</b> The pipe is made close-on-exec; only the
    /// spawn's dup2 onto fd 3 hands it to this child. Signal dispositions are reset to default and
    /// the signal mask emptied (the runtime ignores SIGPIPE; a run must not inherit that), as
    /// Process.Start does.</para>
    /// <para>Not available (the caller falls back to Process and setsid): off Linux, or on a C
    /// library without posix_spawn_file_actions_addchdir_np (glibc before 2.29, musl before 1.1.24).</para>
    /// </remarks>
    internal sealed class SessionSpawn : ChildProcess
    {
        /// <summary>The fd the trampoline's end-of-run pipe arrives on; the trampoline closes it for the command.</summary>
        public const int ExitSignalFd = 3;

        static readonly TimeSpan ReapPoll = TimeSpan.FromMilliseconds(1);

        static readonly Lazy<bool> Supported = new Lazy<bool>(Probe);

        readonly int _pid;
        readonly object _gate = new object();
        int? _exitCode;

        SessionSpawn(int pid) => _pid = pid;

        /// <summary>True where this launcher works (Linux with a recent enough C library); checked once.</summary>
        public static bool IsSupported => Supported.Value;

        public override int Id => _pid;
        public override Process? Handle => null;

        /// <summary>
        /// Spawns <paramref name="argv"/>[0] with that argv and environment in <paramref name="workingDirectory"/>,
        /// as the leader of a new session; <paramref name="onExited"/> runs once, on the thread pool,
        /// when the process has ended. Throws Win32Exception when the spawn fails.
        /// </summary>
        public static SessionSpawn Start(IReadOnlyList<string> argv, IEnumerable<KeyValuePair<string, string>> environment, string workingDirectory, Action onExited)
        {
            var fds = new int[2];
            if (Native.pipe2(fds, Native.O_CLOEXEC) != 0) throw new Win32Exception(Marshal.GetLastWin32Error());
            int readEnd = fds[0], writeEnd = fds[1];
            int pid;
            try
            {
                if (writeEnd == ExitSignalFd)
                {
                    // dup2(3, 3) would leave close-on-exec set: move it out of the way first.
                    var moved = Native.fcntl(writeEnd, Native.F_DUPFD_CLOEXEC, 10);
                    if (moved < 0) throw new Win32Exception(Marshal.GetLastWin32Error());
                    Native.close(writeEnd);
                    writeEnd = moved;
                }
                pid = Spawn(argv, environment, workingDirectory, writeEnd);
            }
            catch
            {
                Native.close(readEnd);
                throw;
            }
            finally
            {
                Native.close(writeEnd);
            }

            var child = new SessionSpawn(pid);
            var pipe = new AnonymousPipeClientStream(PipeDirection.In, new SafePipeHandle((IntPtr)readEnd, ownsHandle: true));
            // Never inline: a run this short may have ended already, and its end must not be read on
            // the caller's thread, which holds the backend's lock and has not finished the start.
            _ = Task.Run(() => child.WatchAsync(pipe, onExited));
            return child;
        }

        async Task WatchAsync(AnonymousPipeClientStream pipe, Action onExited)
        {
            try
            {
                // Nothing is ever written: the read returns 0 when the last holder of the write end exits.
                var buffer = new byte[1];
                while (await pipe.ReadAsync(buffer, 0, 1).ConfigureAwait(false) > 0) { }
            }
            catch (IOException)
            {
                // The pipe broke: the process is gone as far as this end can tell. The watchdog
                // (ExitWatcher) confirms through the OS in any case.
            }
            finally
            {
                pipe.Dispose();
            }
            TryReap(TimeSpan.FromSeconds(5));
            onExited();
        }

        public override int WaitForExitCode(TimeSpan timeout)
        {
            var code = TryReap(timeout);
            if (code == null) throw new InvalidOperationException($"process {_pid} has ended but its exit code could not be read");
            return code.Value;
        }

        /// <summary>Reaps the child (its own pid only), waiting up to <paramref name="timeout"/>; its exit code, or null.</summary>
        int? TryReap(TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            lock (_gate)
            {
                while (_exitCode == null)
                {
                    var result = Native.waitpid(_pid, out var status, Native.WNOHANG);
                    if (result == _pid)
                    {
                        var signal = status & 0x7f;
                        _exitCode = signal == 0 ? (status >> 8) & 0xff : 128 + signal;
                        break;
                    }
                    if (result < 0 && Marshal.GetLastWin32Error() != Native.EINTR) break; // not ours to reap (ECHILD)
                    if (DateTime.UtcNow > deadline) break;
                    // The pipe closes as the process exits, a moment before it can be reaped.
                    Thread.Sleep(ReapPoll);
                }
                return _exitCode;
            }
        }

        /// <summary>Nothing to release: the pipe goes with its watch, and the child is reaped when it ends.</summary>
        public override void Dispose() { }

        static int Spawn(IReadOnlyList<string> argv, IEnumerable<KeyValuePair<string, string>> environment, string workingDirectory, int exitSignalFd)
        {
            var envp = new List<string>();
            foreach (var kv in environment)
                if (kv.Value != null) envp.Add(kv.Key + "=" + kv.Value);

            // Generous buffers: posix_spawnattr_t is 336 bytes and posix_spawn_file_actions_t 80 in
            // glibc, sigset_t 128; the C library initializes them.
            var attr = Marshal.AllocHGlobal(1024);
            var actions = Marshal.AllocHGlobal(1024);
            var allSignals = Marshal.AllocHGlobal(256);
            var noSignals = Marshal.AllocHGlobal(256);
            var strings = new NativeStrings();
            bool attrMade = false, actionsMade = false;
            try
            {
                Check(Native.posix_spawnattr_init(attr));
                attrMade = true;
                Check(Native.posix_spawn_file_actions_init(actions));
                actionsMade = true;
                Check(Native.sigfillset(allSignals) == 0 ? 0 : Marshal.GetLastWin32Error());
                // glibc's sigfillset leaves out its two internal signals (32, 33), and its spawn then
                // hands them to the child ignored; Process.Start resets them to default. So do we:
                // signal n is bit n - 1 of the set.
                Marshal.WriteInt64(allSignals, Marshal.ReadInt64(allSignals) | (1L << 31) | (1L << 32));
                Check(Native.sigemptyset(noSignals) == 0 ? 0 : Marshal.GetLastWin32Error());
                Check(Native.posix_spawnattr_setsigdefault(attr, allSignals));
                Check(Native.posix_spawnattr_setsigmask(attr, noSignals));
                Check(Native.posix_spawnattr_setflags(attr, (short)(Native.POSIX_SPAWN_SETSID | Native.POSIX_SPAWN_SETSIGDEF | Native.POSIX_SPAWN_SETSIGMASK)));
                Check(Native.posix_spawn_file_actions_adddup2(actions, exitSignalFd, ExitSignalFd));
                Check(Native.posix_spawn_file_actions_addchdir_np(actions, strings.Add(workingDirectory)));

                var path = strings.Add(argv[0]);
                var argvBlock = strings.AddArray(argv);
                var envBlock = strings.AddArray(envp);
                Check(Native.posix_spawn(out var pid, path, actions, attr, argvBlock, envBlock));
                return pid;
            }
            finally
            {
                if (actionsMade) Native.posix_spawn_file_actions_destroy(actions);
                if (attrMade) Native.posix_spawnattr_destroy(attr);
                Marshal.FreeHGlobal(attr);
                Marshal.FreeHGlobal(actions);
                Marshal.FreeHGlobal(allSignals);
                Marshal.FreeHGlobal(noSignals);
                strings.Dispose();
            }
        }

        static void Check(int error)
        {
            if (error != 0) throw new Win32Exception(error);
        }

        /// <summary>Asks the C library once whether everything this launcher calls is there, by spawning /bin/true.</summary>
        static bool Probe()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || !File.Exists("/bin/true")) return false;
            try
            {
                var child = Start(new[] { "/bin/true" }, new KeyValuePair<string, string>[0], "/", () => { });
                // Reaped here, by pid, with a bound (not through the thread pool, which may be busy):
                // a probe that does not end in time means "use the fallback", never a hang.
                return child.WaitForExitCode(TimeSpan.FromSeconds(10)) == 0;
            }
            catch (Exception ex) when (ex is EntryPointNotFoundException || ex is DllNotFoundException || ex is Win32Exception || ex is InvalidOperationException)
            {
                return false;
            }
        }

        /// <summary>UTF-8, NUL-terminated copies of strings (and NULL-terminated arrays of them) in unmanaged memory.</summary>
        sealed class NativeStrings : IDisposable
        {
            readonly List<IntPtr> _blocks = new List<IntPtr>();

            public IntPtr Add(string value)
            {
                var bytes = Encoding.UTF8.GetBytes(value);
                var block = Marshal.AllocHGlobal(bytes.Length + 1);
                _blocks.Add(block);
                Marshal.Copy(bytes, 0, block, bytes.Length);
                Marshal.WriteByte(block, bytes.Length, 0);
                return block;
            }

            public IntPtr AddArray(IReadOnlyList<string> values)
            {
                var array = Marshal.AllocHGlobal(IntPtr.Size * (values.Count + 1));
                _blocks.Add(array);
                for (var i = 0; i < values.Count; i++) Marshal.WriteIntPtr(array, i * IntPtr.Size, Add(values[i]));
                Marshal.WriteIntPtr(array, values.Count * IntPtr.Size, IntPtr.Zero);
                return array;
            }

            public void Dispose()
            {
                foreach (var block in _blocks) Marshal.FreeHGlobal(block);
                _blocks.Clear();
            }
        }

        static class Native
        {
            // Linux values (glibc and musl agree).
            public const int O_CLOEXEC = 0x80000;
            public const int F_DUPFD_CLOEXEC = 1030;
            public const int WNOHANG = 1;
            public const int EINTR = 4;
            public const int POSIX_SPAWN_SETSIGDEF = 0x04;
            public const int POSIX_SPAWN_SETSIGMASK = 0x08;
            public const int POSIX_SPAWN_SETSID = 0x80;

            [DllImport("libc", SetLastError = true)] public static extern int pipe2(int[] fds, int flags);
            [DllImport("libc", SetLastError = true)] public static extern int fcntl(int fd, int cmd, int arg);
            [DllImport("libc", SetLastError = true)] public static extern int close(int fd);
            [DllImport("libc", SetLastError = true)] public static extern int waitpid(int pid, out int status, int options);
            [DllImport("libc", SetLastError = true)] public static extern int sigfillset(IntPtr set);
            [DllImport("libc", SetLastError = true)] public static extern int sigemptyset(IntPtr set);
            [DllImport("libc")] public static extern int posix_spawnattr_init(IntPtr attr);
            [DllImport("libc")] public static extern int posix_spawnattr_destroy(IntPtr attr);
            [DllImport("libc")] public static extern int posix_spawnattr_setflags(IntPtr attr, short flags);
            [DllImport("libc")] public static extern int posix_spawnattr_setsigdefault(IntPtr attr, IntPtr set);
            [DllImport("libc")] public static extern int posix_spawnattr_setsigmask(IntPtr attr, IntPtr set);
            [DllImport("libc")] public static extern int posix_spawn_file_actions_init(IntPtr actions);
            [DllImport("libc")] public static extern int posix_spawn_file_actions_destroy(IntPtr actions);
            [DllImport("libc")] public static extern int posix_spawn_file_actions_adddup2(IntPtr actions, int fd, int newFd);
            [DllImport("libc")] public static extern int posix_spawn_file_actions_addchdir_np(IntPtr actions, IntPtr path);
            [DllImport("libc")] public static extern int posix_spawn(out int pid, IntPtr path, IntPtr actions, IntPtr attr, IntPtr argv, IntPtr envp);
        }
    }
}
