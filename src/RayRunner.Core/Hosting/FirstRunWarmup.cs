using System;
using System.Threading.Tasks;

namespace RayRunner.Core
{
    /// <summary>
    /// Right after a session connects, prepares on the thread pool what the first run would otherwise
    /// pay for on its own path: the JSON contract of a run record (reflection and JIT, the bulk of a
    /// new session's first write) and, on the local backend, the one-time check of how runs are
    /// started (it spawns /bin/true). Measured: a new session's first run started ~117 ms after
    /// Invoke-RayExperiment was called, a warm one 11 ms; a user types the next command meanwhile.
    /// Best effort: a failure here changes nothing, the first run then pays as before.
    /// </summary>
    internal static class FirstRunWarmup
    {
        public static void Start(string backendName)
        {
            _ = Task.Run(() =>
            {
                try
                {
                    var json = RayRunnerJson.Serialize(new RunRecord { RunId = "warmup", Spec = new RunSpecRecord() });
                    _ = RayRunnerJson.Deserialize<RunRecord>(json);
                    if (backendName == Local.LocalProcessBackend.BackendName) _ = Local.SessionSpawn.IsSupported;
                }
                catch (Exception)
                {
                    // Nothing to report: warming up is an optimisation; the real first run reports its own errors.
                }
            });
        }
    }
}
