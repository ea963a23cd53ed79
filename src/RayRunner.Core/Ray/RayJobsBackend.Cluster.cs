using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RayRunner.Core.Ray
{
    /// <summary>The cluster side of the backend: availability, the version handshake, <c>ray start</c> / <c>ray stop</c>.</summary>
    public sealed partial class RayJobsBackend
    {
        // ----------------------------------------------------------------------------------
        // Static helpers used by BackendFactory (see RayDashboard)
        // ----------------------------------------------------------------------------------

        /// <summary>The dashboard URL: the parameter, else RAY_API_SERVER_ADDRESS / RAY_ADDRESS when http(s), else http://127.0.0.1:8265.</summary>
        public static string ResolveAddress(string? parameter, Func<string, string?> env) => RayDashboard.ResolveAddress(parameter, env, 8265);

        /// <summary>The <c>ray</c> command on this process's PATH, or null.</summary>
        public static string? FindRayOnPath() => RayCli.FindOnPath(Environment.GetEnvironmentVariable);

        /// <summary>Does a Ray dashboard answer GET /api/version at the options' address (a 401/403 counts: something is there)?</summary>
        public static Task<bool> ProbeAsync(RayBackendOptions options, CancellationToken ct) => RayDashboard.ProbeAsync(options, ct);

        Task<bool> ProbeAsync(RayJobsClient client, TimeSpan timeout, CancellationToken ct) => RayDashboard.AnswersAsync(client, timeout, ct, _options.RetryDelay, _options.Log);

        // ----------------------------------------------------------------------------------
        // Availability and lifecycle
        // ----------------------------------------------------------------------------------

        public bool IsAvailable
        {
            get
            {
                EnsureAvailabilityChecked();
                return _available!.Value;
            }
        }

        public string? UnavailableReason
        {
            get
            {
                EnsureAvailabilityChecked();
                return _unavailableReason;
            }
        }

        void EnsureAvailabilityChecked()
        {
            if (_available.HasValue) return;
            // tmgg's availability check is a synchronous property; the probe is bounded by ProbeTimeout
            // and ends with the backend (its lifetime), and runs once.
            if (IsInitialized || ProbeAsync(_client, _options.ProbeTimeout, _lifetime.Token).GetAwaiter().GetResult())
            {
                _available = true;
                return;
            }
            // Ray is installed: available, even with NoAutoStart (InitAsync then explains that nothing answers).
            // With NoAutoStart the ray command is never used, so its absence is not the problem: the
            // cluster at the address is unreachable, which InitAsync reports as a connect failure.
            _rayExecutable = FindRayExecutable();
            if (_rayExecutable != null || _options.NoAutoStart)
            {
                _available = true;
                return;
            }
            _unavailableReason = $"nothing answered GET /api/version at {Address}, and {DescribeRaySearch()}";
            _available = false;
        }

        string? FindRayExecutable()
        {
            if (!string.IsNullOrEmpty(_options.RayCommand))
                return System.IO.File.Exists(_options.RayCommand) ? _options.RayCommand : null;
            return RayCli.FindOnPath(_options.Environment);
        }

        string DescribeRaySearch() =>
            !string.IsNullOrEmpty(_options.RayCommand)
                ? $"the ray command given ('{_options.RayCommand}') does not exist"
                : $"no 'ray' command was found in the {RayCli.PathFolderCount(_options.Environment)} folders of PATH";

        /// <summary>
        /// Connects to the dashboard; when nothing answers and auto-start is allowed, starts a local
        /// head with <c>ray start --head</c> and waits until it serves the Jobs API. Calling it again
        /// once initialized does nothing (tmgg's ignore_reinit_error).
        /// </summary>
        public async Task InitAsync(ClusterOptions options, CancellationToken cancellationToken)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (IsInitialized) return;

            if (await ProbeAsync(_client, _options.ProbeTimeout, cancellationToken).ConfigureAwait(false))
            {
                await ConnectAsync(cancellationToken).ConfigureAwait(false);
                AdoptHeadOfAnEndedSession();
                _clusterResources = RaySubmitRequest.ParseClusterResources(await _client.GetClusterStatusTextAsync(cancellationToken).ConfigureAwait(false));
                IsInitialized = true;
                _available = true;
                return;
            }

            // Nothing answers: a head recorded as started by RayRunner is gone (stopped by hand, machine restarted).
            _options.StartedHeads?.Forget(Address);
            if (_options.NoAutoStart)
                throw new RayClusterException($"No Ray dashboard answered at {Address}, and starting a local cluster is turned off (NoAutoStart). Start one with 'ray start --head', or give the address of a running cluster.");
            if (!RayLocalHead.IsLoopback(Address))
                throw new RayClusterException($"No Ray dashboard answered at {Address}. RayRunner starts a cluster only on this machine (127.0.0.1/localhost); check the address and that the remote cluster is up.");

            var ray = _rayExecutable ?? FindRayExecutable();
            if (ray == null) throw new RayNotInstalledException($"nothing answered at {Address} and {DescribeRaySearch()}");

            await StartLocalClusterAsync(ray, options, cancellationToken).ConfigureAwait(false);
            IsInitialized = true;
            _available = true;
        }

        /// <summary>
        /// <c>ray start --head</c>, then waits until the dashboard serves the Jobs API. The cluster
        /// counts as started by RayRunner as soon as the command succeeded, so a shutdown stops it
        /// even when the dashboard never came up.
        /// </summary>
        async Task StartLocalClusterAsync(string ray, ClusterOptions cluster, CancellationToken ct)
        {
            var since = DateTimeOffset.UtcNow;
            var head = await RayLocalHead.StartAsync(ray, Address, cluster, _options, ct).ConfigureAwait(false);
            StartedCluster = true;
            _options.StartedHeads?.Record(Address);
            _clusterResources = cluster.Resources.ToDictionary(kv => kv.Key, kv => kv.Value);
            await RayLocalHead.WaitForDashboardAsync(Address, head, since, _options, c => ProbeAsync(_client, _options.ProbeTimeout, c), ct).ConfigureAwait(false);
            await ConnectAsync(ct).ConfigureAwait(false);
            Say($"Started a local Ray cluster (dashboard {Address}); RayRunner will stop it on shutdown.");
        }

        /// <summary>
        /// A head that answers may be one RayRunner started in a session that has since ended
        /// without stopping it (a closed window, a crashed runbook). Such a head is nobody's: this
        /// backend takes it over, so its shutdown stops it. A head whose starting session is still
        /// alive stays that session's, and one RayRunner never started is never stopped.
        /// </summary>
        void AdoptHeadOfAnEndedSession()
        {
            var ledger = _options.StartedHeads;
            if (ledger == null) return;
            switch (ledger.OwnerOf(Address, out var who))
            {
                case StartedHeadOwner.EndedSession:
                    StartedCluster = true;
                    ledger.Record(Address);
                    Say($"The local Ray cluster at {Address} was started by a RayRunner session that has ended ({who}); this session takes it over and stops it on Disconnect-RayCluster.");
                    break;
                case StartedHeadOwner.LiveSession:
                    Say($"The local Ray cluster at {Address} was started by another RayRunner session that is still running ({who}); that session stops it, this one leaves it running.");
                    break;
            }
        }

        /// <summary>The version handshake, once: learns which request fields the server knows.</summary>
        async Task<RayVersionInfo> ConnectAsync(CancellationToken ct)
        {
            var current = _connected;
            if (current != null && current.Status == TaskStatus.RanToCompletion) return current.Result;
            await _connectGate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (_connected == null || _connected.Status != TaskStatus.RanToCompletion)
                {
                    RayVersionInfo version = null!;
                    for (var attempt = 0; ; attempt++)
                    {
                        try
                        {
                            version = await _client.GetVersionAsync(_options.RequestTimeout, ct).ConfigureAwait(false);
                            break;
                        }
                        catch (Exception ex) when (attempt < _options.MaxRetries && RayJobsClient.IsTransient(ex) && !ct.IsCancellationRequested)
                        {
                            Say($"The version handshake with {Address} failed ({ex.Message}); trying again (try {attempt + 2} of {_options.MaxRetries + 1}).");
                            await Task.Delay(_options.RetryDelay, ct).ConfigureAwait(false);
                        }
                    }
                    Say(DescribeHandshake(version));
                    if (!version.SupportsJobs)
                        throw new NotSupportedException($"The Ray cluster at {Address} runs Ray {version.RayVersion}, which has no Jobs API (Ray 1.9+; RayRunner needs 2.0+).");
                    _connected = Task.FromResult(version);
                }
                return _connected.Result;
            }
            finally
            {
                _connectGate.Release();
            }
        }

        /// <summary>
        /// ray.shutdown(): runs <c>ray stop</c> only when this backend started the cluster, and says
        /// which it did in <see cref="ShutdownMessage"/>. Runs on a cluster it did not start keep
        /// going and can still be waited for; runs on a cluster it stopped end with a clear error.
        /// </summary>
        public async Task ShutdownAsync(CancellationToken cancellationToken)
        {
            // Deletes of jobs whose runs were just saved: let them finish (bounded) so they are not left on the head.
            var unfinished = await _janitor.DrainAsync(_options.RequestTimeout + _options.RequestTimeout, cancellationToken).ConfigureAwait(false);
            if (unfinished > 0) Say($"{unfinished} finished Ray job(s) were not deleted from the head in time; they stay there, and nothing of their runs is lost.");
            IsInitialized = false;
            if (!StartedCluster)
            {
                ShutdownMessage = $"Left the Ray cluster at {Address} running: RayRunner did not start it.";
                Say(ShutdownMessage);
                return;
            }
            var ray = _rayExecutable ?? FindRayExecutable()
                ?? throw new RayClusterException($"RayRunner started the local Ray cluster at {Address} but can no longer find the 'ray' command to stop it. Run 'ray stop' yourself.");
            var result = await RayCli.RunAsync(ray, new[] { "stop" }, _options.ShutdownTimeout, cancellationToken).ConfigureAwait(false);
            if (result.TimedOut || result.ExitCode != 0)
                throw new RayClusterException($"'ray stop' {(result.TimedOut ? "did not finish in time" : $"failed with exit code {result.ExitCode}")}; the local cluster may still run. Its output:{RayLocalHead.Indent(result.Output)}", result.Output);
            StartedCluster = false;
            _options.StartedHeads?.Forget(Address);
            _connected = null;
            _available = null;
            _poller.FailActive(new RayClusterException($"The local Ray cluster at {Address} was stopped (ray stop) while this run was active; Ray keeps no job records after a stop."));
            ShutdownMessage = $"Stopped the local Ray cluster at {Address} that RayRunner started (ray stop).";
            Say(ShutdownMessage);
        }

        /// <summary>What the handshake decided: which request fields this head gets and which are left out.</summary>
        string DescribeHandshake(RayVersionInfo v)
        {
            var left = new System.Collections.Generic.List<string>();
            if (!v.SupportsEntrypointResources) left.Add("entrypoint_num_cpus/num_gpus/resources (Ray 2.2)");
            if (!v.SupportsEntrypointMemory) left.Add("entrypoint_memory (Ray 2.8)");
            if (!v.SupportsDelete) left.Add("job deletion (Jobs API 4)");
            return $"Connected to Ray {v.RayVersion} (Jobs API {v.ApiVersion}) at {Address}; " +
                   (left.Count == 0 ? "every request field RayRunner sends is supported." : "left out for this head: " + string.Join(", ", left) + ".");
        }

        void Say(string message) => _options.Log?.Invoke(message);

    }
}
