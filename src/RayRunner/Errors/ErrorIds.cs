namespace RayRunner.PowerShell
{
    /// <summary>
    /// The module's error ids: part of the public contract (scripts match on
    /// <c>$_.FullyQualifiedErrorId</c>, tests on <c>Should -Throw -ErrorId</c>). Never rename one;
    /// add new ones to docs/error-ids.md and about_RayRunner as well.
    /// </summary>
    public static class ErrorIds
    {
        // Preconditions: terminating.
        public const string NotConnected = "NotConnected";
        public const string ConnectionInUse = "ConnectionInUse";
        public const string RayNotInstalled = "RayNotInstalled";
        public const string BackendNotSupported = "BackendNotSupported";
        public const string ConnectFailed = "ConnectFailed";
        public const string InvalidToken = "InvalidToken";
        public const string EntrypointInvalid = "EntrypointInvalid";
        public const string WorkingDirectoryNotFound = "WorkingDirectoryNotFound";
        public const string RunIdWithSweep = "RunIdWithSweep";
        public const string DisconnectFailed = "DisconnectFailed";
        public const string ResumeNeedsSweepId = "ResumeNeedsSweepId";
        public const string ResumeWithRunId = "ResumeWithRunId";
        public const string SweepEmpty = "SweepEmpty";
        public const string SweepUnknownKey = "SweepUnknownKey";
        public const string SweepKeyConflict = "SweepKeyConflict";
        public const string SweepTooLarge = "SweepTooLarge";
        public const string SweepInvalid = "SweepInvalid";
        public const string SweepFileNotFound = "SweepFileNotFound";
        public const string EntrypointMismatch = "EntrypointMismatch";
        public const string ReportWriteFailed = "ReportWriteFailed";
        public const string RunResourcesInvalid = "RunResourcesInvalid";

        // Per item: non-terminating.
        public const string ConfigInvalid = "ConfigInvalid";
        public const string RunIdInUse = "RunIdInUse";
        public const string SubmitFailed = "SubmitFailed";
        public const string RunNotFound = "RunNotFound";
        public const string RunNotFinished = "RunNotFinished";
        public const string RunRecordDamaged = "RunRecordDamaged";
        public const string RunOnOtherBackend = "RunOnOtherBackend";
        public const string StatusFailed = "StatusFailed";
        public const string StopFailed = "StopFailed";
        public const string RemoveFailed = "RemoveFailed";
        public const string LogNotAvailable = "LogNotAvailable";
        public const string LogReadFailed = "LogReadFailed";
        public const string AttemptNotFound = "AttemptNotFound";
        public const string ResultFailed = "ResultFailed";
        public const string SweepIdInvalid = "SweepIdInvalid";
        public const string SweepNotFound = "SweepNotFound";
        public const string ResumeFailed = "ResumeFailed";
        public const string StoreUnreadable = "StoreUnreadable";
        public const string NotAResult = "NotAResult";
        public const string MetricNotFound = "MetricNotFound";
    }
}
