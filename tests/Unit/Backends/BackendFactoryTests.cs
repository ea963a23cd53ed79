using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using RayRunner.Core;
using RayRunner.Core.Local;
using RayRunner.Core.Ray;
using RayRunner.Tests.Unit.Ray;
using RayRunner.Tests.Unit.Ray.StandIn;
using Xunit;

namespace RayRunner.Tests.Unit.Backends
{
    /// <summary>
    /// Issue 4's backend choice: Auto uses Ray when a dashboard answers or `ray` is on PATH, else the
    /// local backend with one warning that says how to require Ray; Ray and Local force one, and a
    /// forced Ray never falls back. PATH is process-wide, hence the serial collection.
    /// </summary>
    [Collection(RayCliOnPathCollection.Name)]
    public sealed class BackendFactoryTests : IDisposable
    {
        readonly string? _savedPath = Environment.GetEnvironmentVariable("PATH");
        readonly string _emptyDir = Path.Combine(Path.GetTempPath(), "rr-nopath-" + Guid.NewGuid().ToString("N"));
        readonly List<string> _warnings = new();
        readonly List<IDisposable> _made = new();

        public BackendFactoryTests()
        {
            Directory.CreateDirectory(_emptyDir);
        }

        public void Dispose()
        {
            foreach (var d in _made) d.Dispose();
            Environment.SetEnvironmentVariable("PATH", _savedPath);
            Directory.Delete(_emptyDir, recursive: true);
        }

        async Task<IRayBackend> Create(BackendSettings settings)
        {
            var backend = await BackendFactory.CreateAsync(settings, _warnings.Add, CancellationToken.None);
            if (backend is IDisposable d) _made.Add(d);
            return backend;
        }

        /// <summary>An address where nothing listens.</summary>
        static string Nowhere()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return "http://127.0.0.1:" + port;
        }

        [Fact]
        public async Task Auto_uses_Ray_when_a_dashboard_answers()
        {
            Environment.SetEnvironmentVariable("PATH", _emptyDir);
            await using var dashboard = await RayDashboardStandIn.StartAsync();

            var backend = await Create(new BackendSettings { Address = dashboard.Address });

            Assert.IsType<RayJobsBackend>(backend);
            Assert.Equal(dashboard.Address, backend.Address.TrimEnd('/'));
            Assert.Empty(_warnings);
        }

        [Fact]
        public async Task Auto_uses_Ray_when_nothing_answers_but_ray_is_on_PATH()
        {
            Environment.SetEnvironmentVariable("PATH", RayCliStandInHost.FixtureDirectory);

            var backend = await Create(new BackendSettings { Address = Nowhere() });

            Assert.IsType<RayJobsBackend>(backend);
            Assert.Empty(_warnings);
        }

        [Fact]
        public async Task Auto_without_Ray_runs_locally_with_one_warning_that_says_how_to_require_Ray()
        {
            Environment.SetEnvironmentVariable("PATH", _emptyDir);
            var address = Nowhere();

            var backend = await Create(new BackendSettings { Address = address });

            Assert.IsType<LocalProcessBackend>(backend);
            var warning = Assert.Single(_warnings);
            Assert.Contains(address, warning);
            Assert.Contains("no 'ray' command is on PATH", warning);
            Assert.Contains("-Backend Ray", warning);
        }

        [Fact]
        public async Task Auto_with_auto_start_off_does_not_count_ray_on_PATH()
        {
            Environment.SetEnvironmentVariable("PATH", RayCliStandInHost.FixtureDirectory);

            var backend = await Create(new BackendSettings { Address = Nowhere(), NoAutoStart = true });

            Assert.IsType<LocalProcessBackend>(backend);
            Assert.Contains("auto-start is off", Assert.Single(_warnings));
        }

        [Fact]
        public async Task A_forced_Ray_never_falls_back_and_its_absence_is_RayNotInstalled()
        {
            Environment.SetEnvironmentVariable("PATH", _emptyDir);

            var backend = await Create(new BackendSettings { Backend = BackendChoice.Ray, Address = Nowhere() });

            Assert.IsType<RayJobsBackend>(backend);
            Assert.Empty(_warnings);
            var ex = await Assert.ThrowsAsync<RayNotInstalledException>(() => Core.ExperimentRunner.CreateAsync(backend));
            Assert.StartsWith(RayNotInstalledException.MessagePrefix, ex.Message);
        }

        [Fact]
        public async Task A_forced_Ray_at_an_unreachable_address_with_auto_start_off_is_a_connect_failure_not_a_missing_install()
        {
            // Without ray on PATH: with auto-start off the ray command would never run, so its absence
            // is not the problem; the address is (issue 11, item 5).
            Environment.SetEnvironmentVariable("PATH", _emptyDir);

            var backend = await Create(new BackendSettings { Backend = BackendChoice.Ray, Address = Nowhere(), NoAutoStart = true });

            var ex = await Assert.ThrowsAsync<Core.Ray.RayClusterException>(() => Core.ExperimentRunner.CreateAsync(backend));
            Assert.Contains("No Ray dashboard answered", ex.Message);
            Assert.Contains("NoAutoStart", ex.Message);
        }

        [Fact]
        public async Task A_forced_Local_needs_nothing_and_warns_about_nothing()
        {
            Environment.SetEnvironmentVariable("PATH", RayCliStandInHost.FixtureDirectory);

            var backend = await Create(new BackendSettings { Backend = BackendChoice.Local, MaxConcurrent = 3 });

            Assert.Equal(3, Assert.IsType<LocalProcessBackend>(backend).MaxConcurrent);
            Assert.Empty(_warnings);
        }
    }
}
