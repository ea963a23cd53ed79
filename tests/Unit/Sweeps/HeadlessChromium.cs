using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace RayRunner.Tests.Unit.Sweeps
{
    /// <summary>
    /// Debian's chromium, headless, with every network request it would make sent to a loopback
    /// "trap" proxy that only counts connections: a page that fetched anything shows up there.
    /// Chromium is required, not optional: CI installs it (apt-get install -y chromium), and a
    /// machine without it fails these tests with that instruction rather than skipping them.
    /// </summary>
    internal sealed class HeadlessChromium : IDisposable
    {
        readonly TcpListener _trap = new TcpListener(IPAddress.Loopback, 0);
        readonly CancellationTokenSource _stop = new CancellationTokenSource();
        readonly string _profile = Path.Combine(Path.GetTempPath(), "rr-chromium-" + Guid.NewGuid().ToString("N"));
        readonly List<string> _seen = new List<string>();

        /// <summary>The request lines the trap received, for the failure message.</summary>
        public string Seen { get { lock (_seen) return string.Join("; ", _seen); } }

        public HeadlessChromium()
        {
            Executable = Find() ?? throw new Xunit.Sdk.XunitException(
                "The sweep report's browser tests need Chromium, and none was found (looked for $RAYRUNNER_CHROMIUM, chromium, chromium-browser, google-chrome on PATH). " +
                "Install it: apt-get update && apt-get install -y chromium (.ci/run does this), or point RAYRUNNER_CHROMIUM at a Chromium binary.");
            _trap.Start();
            _ = Task.Run(AcceptLoop);
        }

        public string Executable { get; }

        /// <summary>
        /// Requests the page made (through the trap proxy) so far: every request the trap saw except
        /// Chromium's own calls home (component updates, clock and account checks to Google hosts),
        /// which come whatever the page is and which the flags below do not all switch off.
        /// </summary>
        public int Requests
        {
            get { lock (_seen) return _seen.Count(line => !IsBrowserService(line)); }
        }

        static readonly string[] BrowserServiceHosts = { ".google.com", ".googleapis.com", ".gvt1.com", ".gstatic.com" };

        static bool IsBrowserService(string requestLine)
        {
            // "CONNECT host:443 HTTP/1.1" or "GET http://host/path HTTP/1.1"
            var parts = requestLine.Split(' ');
            if (parts.Length < 2) return false;
            var target = parts[1].Contains("://", StringComparison.Ordinal) ? new Uri(parts[1]).Host : parts[1].Split(':')[0];
            return BrowserServiceHosts.Any(h => ("." + target).EndsWith(h, StringComparison.OrdinalIgnoreCase));
        }

        static string? Find()
        {
            var fromEnv = Environment.GetEnvironmentVariable("RAYRUNNER_CHROMIUM");
            if (!string.IsNullOrEmpty(fromEnv) && File.Exists(fromEnv)) return fromEnv;
            var path = Environment.GetEnvironmentVariable("PATH") ?? "";
            foreach (var name in new[] { "chromium", "chromium-browser", "google-chrome" })
                foreach (var dir in path.Split(Path.PathSeparator).Where(d => d.Length > 0))
                    if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
            return null;
        }

        async Task AcceptLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    var client = await _trap.AcceptTcpClientAsync().ConfigureAwait(false);
                    _ = Task.Run(async () =>
                    {
                        // Note what was asked for (the request line), then close: the request fails, and it is counted.
                        using (client)
                        {
                            try
                            {
                                client.ReceiveTimeout = 2000;
                                var reader = new StreamReader(client.GetStream());
                                var line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                                lock (_seen) _seen.Add(line ?? "(nothing)");
                            }
                            catch (Exception ex) when (ex is IOException || ex is TimeoutException || ex is SocketException)
                            {
                                lock (_seen) _seen.Add("(no request line)");
                            }
                        }
                    });
                }
                catch (Exception) when (_stop.IsCancellationRequested) { return; }
                catch (SocketException) { }
                catch (ObjectDisposedException) { return; }
            }
        }

        /// <summary>Loads the file, lets its scripts run, and returns the DOM as serialized after that.</summary>
        public string DumpDom(string htmlFile) => Run(htmlFile, "--dump-dom", "--virtual-time-budget=3000");

        public void Screenshot(string htmlFile, string pngFile) =>
            Run(htmlFile, "--screenshot=" + pngFile, "--window-size=1280,2000", "--hide-scrollbars");

        string Run(string htmlFile, params string[] extra)
        {
            var port = ((IPEndPoint)_trap.LocalEndpoint).Port;
            var args = new List<string>
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-pings", "--disable-default-apps", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                "--user-data-dir=" + _profile,
                // Everything the page asks the network for goes to the trap, loopback included.
                "--proxy-server=http://127.0.0.1:" + port, "--proxy-bypass-list=<-loopback>",
            };
            args.AddRange(extra);
            args.Add(new Uri(htmlFile).AbsoluteUri);
            var start = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(90_000))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"Chromium did not finish loading {htmlFile} within 90 s.");
            }
            Assert.True(process.ExitCode == 0, $"Chromium exited with {process.ExitCode}: {stderr.Result}");
            return stdout.Result;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _trap.Stop();
            try { Directory.Delete(_profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
