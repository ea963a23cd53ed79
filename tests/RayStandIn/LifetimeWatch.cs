using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.RayStandIn
{
    /// <summary>
    /// Ends the program's life: stdin closing (the parent let go of it or died), the parent process
    /// ending, Ctrl+C, an explicit <see cref="RequestStop"/>, or the lifetime bound. A stand-in never
    /// outlives the test that started it.
    /// </summary>
    public sealed class LifetimeWatch : IDisposable
    {
        readonly TaskCompletionSource<string> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        readonly CancellationTokenSource _cts = new();

        public LifetimeWatch(int? parentPid, TimeSpan maxLifetime)
        {
            _ = Task.Run(WatchStdinAsync);
            if (parentPid is int pid) _ = Task.Run(() => WatchParentAsync(pid));
            _ = Task.Delay(maxLifetime, _cts.Token).ContinueWith(t => { if (!t.IsCanceled) RequestStop($"the lifetime bound ({maxLifetime.TotalSeconds:0} s) passed"); }, TaskScheduler.Default);
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                RequestStop("Ctrl+C");
            };
        }

        /// <summary>Completes with the reason the program should end.</summary>
        public Task<string> Ended => _ended.Task;

        public void RequestStop(string reason) => _ended.TrySetResult(reason);

        async Task WatchStdinAsync()
        {
            try
            {
                using var stdin = Console.OpenStandardInput();
                var buffer = new byte[256];
                while (await stdin.ReadAsync(buffer, 0, buffer.Length, _cts.Token).ConfigureAwait(false) > 0) { }
                RequestStop("stdin closed");
            }
            catch (Exception ex) when (ex is IOException || ex is OperationCanceledException || ex is ObjectDisposedException)
            {
                RequestStop("stdin closed");
            }
        }

        async Task WatchParentAsync(int pid)
        {
            while (!_cts.IsCancellationRequested)
            {
                if (!IsAlive(pid))
                {
                    RequestStop($"the parent process {pid} ended");
                    return;
                }
                try { await Task.Delay(500, _cts.Token).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
            }
        }

        static bool IsAlive(int pid)
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                return !p.HasExited;
            }
            catch (ArgumentException) { return false; }
            catch (InvalidOperationException) { return false; }
        }

        public void Dispose()
        {
            _cts.Cancel();
            _cts.Dispose();
        }
    }
}
