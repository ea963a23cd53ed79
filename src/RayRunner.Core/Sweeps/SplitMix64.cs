namespace RayRunner.Core.Sweeps
{
    /// <summary>
    /// A tiny pseudo-random generator (the published SplitMix64 algorithm) with a fixed, documented
    /// sequence per seed. System.Random is not used because its seeded sequence is an
    /// implementation detail of each .NET runtime; a sweep drawn with -Seed 7 must be the same
    /// configs on Windows PowerShell 5.1, PowerShell 7 and next year's .NET.
    /// </summary>
    internal sealed class SplitMix64
    {
        ulong _state;

        public SplitMix64(long seed) => _state = unchecked((ulong)seed);

        public ulong NextUInt64()
        {
            unchecked
            {
                _state += 0x9E3779B97F4A7C15UL;
                var z = _state;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                return z ^ (z >> 31);
            }
        }

        /// <summary>A double in [0, 1) from the top 53 bits.</summary>
        public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

        public int NextIndex(int count) => (int)(NextDouble() * count);
    }
}
