namespace RayRunner.PowerShell
{
    /// <summary>
    /// The stable type names of the module's output, independent of the .NET class names. The format
    /// file's views and users' scripts (<c>$x.PSObject.TypeNames</c>, <c>[PSTypeName()]</c> parameters)
    /// rely on them: never rename one.
    /// </summary>
    public static class TypeNames
    {
        public const string RayRun = "RayRunner.RayRun";
        public const string RayRunAttempt = "RayRunner.RayRunAttempt";
        public const string ExperimentResult = "RayRunner.ExperimentResult";
        public const string RayCluster = "RayRunner.RayCluster";
        public const string RunStatus = "RayRunner.RunStatus";
        public const string SweepConfig = "RayRunner.SweepConfig";
        public const string SweepSummary = "RayRunner.SweepSummary";
    }
}
