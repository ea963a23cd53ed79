namespace RayRunner.Core.Ray
{
    /// <summary>Who started the local head at an address, as a ledger remembers it.</summary>
    public enum StartedHeadOwner
    {
        /// <summary>No RayRunner process is recorded as having started it: a head someone else runs.</summary>
        None,
        /// <summary>A RayRunner session that is still alive started it; that session stops it.</summary>
        LiveSession,
        /// <summary>A RayRunner session started it and has ended without stopping it; it is nobody's now.</summary>
        EndedSession,
    }

    /// <summary>
    /// Remembers, beyond one process, which local Ray heads RayRunner started (the run store keeps
    /// it: Hosting/StartedHeadLedger). Without it, a session that ended without
    /// Disconnect-RayCluster left a head that no later session knew it may stop.
    /// </summary>
    public interface IStartedHeadLedger
    {
        /// <summary>This process has just started the head at <paramref name="address"/>.</summary>
        void Record(string address);

        /// <summary>Who started the head at <paramref name="address"/>, with a phrase for messages ("pid 123, started 10:02").</summary>
        StartedHeadOwner OwnerOf(string address, out string? who);

        /// <summary>The head at <paramref name="address"/> was stopped, or is gone.</summary>
        void Forget(string address);
    }
}
