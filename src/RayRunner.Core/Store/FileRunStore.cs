using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace RayRunner.Core
{
    /// <summary>
    /// The run store on disk: one private folder per run under <c>$RAYRUNNER_HOME</c> (default
    /// <c>~/.rayrunner</c>), holding <c>run.json</c> (spec, claim, submission, result) and
    /// <c>output.log</c> (the local backend's output). Safe for several processes at once: every
    /// write happens under the store lock and is atomic. See docs/run-store.md.
    /// </summary>
    /// <remarks>
    /// Layout: <c>&lt;root&gt;/store.lock</c>, <c>&lt;root&gt;/index.jsonl</c> (a cache for fast listing,
    /// rebuilt from the folders whenever it disagrees with them), <c>&lt;root&gt;/runs/&lt;runId&gt;/</c>.
    /// </remarks>
    public sealed partial class FileRunStore : IRunStore
    {
        public const string HomeVariable = "RAYRUNNER_HOME";
        public const string RecordFileName = "run.json";
        public const string LogFileName = "output.log";
        const string RunsFolderName = "runs";
        const string DeletedPrefix = ".deleted-";
        const int MaxProblemsKept = 200;

        readonly StoreLock _lock;
        readonly RunIndex _index;
        readonly ConcurrentQueue<StoreProblem> _problems = new ConcurrentQueue<StoreProblem>();
        readonly ConcurrentDictionary<string, byte> _problemKeys = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        readonly LogTrimmer _logs;
        /// <param name="root">The store folder; null means <c>$RAYRUNNER_HOME</c>, else <c>~/.rayrunner</c>.</param>
        public FileRunStore(string? root = null, LogRetention? retention = null) : this(root, retention, readOnly: false) { }

        /// <summary>
        /// The existing store at <paramref name="root"/> for reading only: nothing is created, made
        /// private (chmod) or rewritten, so a store on read-only media, or one shared read-only with
        /// other users, can still be listed. Writing through it (<see cref="Save"/>, <see cref="Delete"/>)
        /// is an error that says so.
        /// </summary>
        public static FileRunStore OpenForReading(string root) => new FileRunStore(root, null, readOnly: true);

        readonly bool _readOnly;

        FileRunStore(string? root, LogRetention? retention, bool readOnly)
        {
            Root = Path.GetFullPath(string.IsNullOrWhiteSpace(root) ? DefaultRoot() : root!);
            RunsFolder = Path.Combine(Root, RunsFolderName);
            var kept = retention ?? LogRetention.Default;
            kept.Validate();
            _logs = new LogTrimmer(kept, () => ListAll().Summaries, runId => Path.Combine(RunsFolder, runId), write => WithLock(() => { write(); return 0; }));
            _readOnly = readOnly;
            _index = new RunIndex(Path.Combine(Root, "index.jsonl"));
            if (readOnly)
            {
                // The lock is taken only to write; StoreLock.For touches no file until then.
                _lock = StoreLock.For(Path.Combine(Root, "store.lock"));
                return;
            }
            try
            {
                PrivateFiles.CreateFolder(Root);
                PrivateFiles.CreateFolder(RunsFolder);
                var lockPath = Path.Combine(Root, "store.lock");
                if (!File.Exists(lockPath)) PrivateFiles.Touch(lockPath);
                _lock = StoreLock.For(lockPath);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new IOException($"Cannot use '{Root}' as the RayRunner run store: {ex.Message} Set {HomeVariable} to a folder you can write to.", ex);
            }
        }

        /// <summary><c>$RAYRUNNER_HOME</c> when set, else <c>~/.rayrunner</c>.</summary>
        public static string DefaultRoot()
        {
            var home = Environment.GetEnvironmentVariable(HomeVariable);
            if (!string.IsNullOrWhiteSpace(home)) return Path.GetFullPath(home);
            var profile = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(profile)) profile = Environment.GetEnvironmentVariable("HOME") ?? ".";
            return Path.Combine(profile, ".rayrunner");
        }

        public string Root { get; }
        public string RunsFolder { get; }

        public IReadOnlyList<StoreProblem> Problems => _problems.ToArray();

        /// <summary>The folder of one run. The id is checked first, so no id can name a folder outside the store.</summary>
        public string RunFolder(string runId)
        {
            RunIds.Validate(runId, nameof(runId));
            var folder = Path.GetFullPath(Path.Combine(RunsFolder, runId));
            var parent = Path.GetDirectoryName(folder);
            if (!string.Equals(parent, RunsFolder, PrivateFiles.IsUnix ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"The run id '{runId}' does not name a folder inside the store '{RunsFolder}'.", nameof(runId));
            return folder;
        }

        public string LogPathFor(string runId)
        {
            // A retry's attempt (<runid>-aN) logs beside its run's first attempt: output.aN.log.
            if (RunIds.TryParseAttempt(runId, out var attemptOf, out var attempt) && !Directory.Exists(RunFolder(runId)))
                return Path.Combine(RunFolder(attemptOf), $"output.a{attempt}.log");
            var folder = RunFolder(runId);
            if (!Directory.Exists(folder) && !_readOnly) PrivateFiles.CreateFolder(folder);
            return Path.Combine(folder, LogFileName);
        }

        public T WithLock<T>(Func<T> action)
        {
            if (_readOnly)
                throw new InvalidOperationException($"The run store '{Root}' was opened for reading only; connect (Connect-RayCluster) to change it.");
            return _lock.Run(action);
        }

        // ------------------------------------------------------------------------------------
        // Records
        // ------------------------------------------------------------------------------------

        public RunRecord Save(RunRecord record)
        {
            if (record == null) throw new ArgumentNullException(nameof(record));
            var folder = RunFolder(record.RunId);
            var path = Path.Combine(folder, RecordFileName);
            var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(record, RayRunnerJson.Indented) + "\n");
            // Only a final result must survive a power cut; every other state survives a killed
            // process without an fsync (docs/run-store.md, "Durability"). The result is flushed
            // before the lock is taken, so other writers do not wait for the disk.
            var flushed = record.IsFinal && !_readOnly && Directory.Exists(folder) ? PrivateFiles.WriteFlushedTemp(path, bytes) : null;
            try
            {
                var saved = WithLock(() =>
                {
                    if (Directory.Exists(folder))
                    {
                        var existing = File.Exists(path) ? Read(record.RunId, path) : null;
                        if (existing != null && existing.IsFinal) return existing;
                        RemoveLeftoverTemps(folder, flushed);
                    }
                    else
                    {
                        PrivateFiles.CreateFolder(folder);
                    }
                    if (flushed == null || !PrivateFiles.TryCommit(flushed, path))
                        PrivateFiles.WriteAtomic(path, bytes, flushToDisk: record.IsFinal);
                    flushed = null;
                    if (RunIndex.StampOf(path) is { } stamp)
                    {
                        _records[record.RunId] = new StampedRecord(stamp, record);
                        if (_index.Append(RunSummary.Of(record, stamp))) Compact();
                    }
                    return record;
                });
                if (ReferenceEquals(saved, record) && record.IsFinal) ApplyRetention(record.RunId);
                return saved;
            }
            finally
            {
                if (flushed != null) PrivateFiles.TryDelete(flushed);
            }
        }

        public RunRecord? TryLoad(string runId)
        {
            if (!RunIds.IsValid(runId)) return null;
            var path = Path.Combine(RunFolder(runId), RecordFileName);
            return File.Exists(path) ? Read(runId, path) : null;
        }


        public StoreProblem? DamageOf(string runId)
        {
            if (!RunIds.IsValid(runId)) return null;
            var path = Path.Combine(RunFolder(runId), RecordFileName);
            if (!File.Exists(path)) return null;
            Read(runId, path, out var problem);
            return problem;
        }


        public bool Delete(string runId)
        {
            var folder = RunFolder(runId);
            return WithLock(() =>
            {
                if (!Directory.Exists(folder)) return false;
                // Rename first (atomic): a crash while deleting leaves a hidden folder that listing
                // ignores and the next delete sweeps away, never half a run.
                var graveyard = Path.Combine(RunsFolder, DeletedPrefix + runId + "-" + Guid.NewGuid().ToString("N").Substring(0, 8));
                Directory.Move(folder, graveyard);
                _records.TryRemove(runId, out _);
                SweepGraveyard();
                return true;
            });
        }

        /// <summary>Reads one record; a damaged one is reported and skipped (null), never thrown.</summary>
        RunRecord? Read(string runId, string path) => Read(runId, path, out _);

        /// <summary>Reads one record; <paramref name="problem"/> says what is wrong with it when it cannot be read.</summary>
        RunRecord? Read(string runId, string path, out StoreProblem? problem)
        {
            problem = null;
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (FileNotFoundException) { return null; }
            catch (DirectoryNotFoundException) { return null; }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                problem = Report(runId, path, $"cannot be read ({ex.Message}); the run is listed as damaged. Fix the file's permissions, or remove the run (Remove-RayRun -Force).");
                return null;
            }
            return Parse(runId, path, bytes, out problem);
        }

        internal RunRecord? Parse(string runId, string path, byte[] bytes) => Parse(runId, path, bytes, out _);

        RunRecord? Parse(string runId, string path, byte[] bytes, out StoreProblem? problem)
        {
            problem = null;
            RunRecord? record;
            try
            {
                record = JsonSerializer.Deserialize<RunRecord>(bytes, RayRunnerJson.Options);
            }
            catch (Exception ex) when (ex is JsonException || ex is NotSupportedException || ex is InvalidOperationException || ex is ArgumentException || ex is FormatException)
            {
                problem = Report(runId, path, $"is damaged ({FirstLine(ex.Message)}); the run is listed as damaged and cannot be followed. Remove it (Remove-RayRun -Force) if it is no longer needed.");
                return null;
            }
            if (record == null || record.RunId != runId)
            {
                problem = Report(runId, path, $"does not describe run '{runId}' (it names '{record?.RunId}'); the run is listed as damaged. Remove it (Remove-RayRun -Force) if it is no longer needed.");
                return null;
            }
            if (record.Format > RunRecord.CurrentFormat)
            {
                problem = Report(runId, path, $"was written by a newer RayRunner (format {record.Format}); update RayRunner to read it. Until then the run is listed as damaged.");
                return null;
            }
            return record;
        }

        /// <summary>Keeps the problem in <see cref="Problems"/> (once per file and message) and returns it.</summary>
        StoreProblem Report(string? runId, string path, string message)
        {
            var problem = new StoreProblem(runId, path, message);
            if (!_problemKeys.TryAdd(path + "\n" + message, 0)) return problem;
            _problems.Enqueue(problem);
            while (_problems.Count > MaxProblemsKept && _problems.TryDequeue(out _)) { }
            return problem;
        }

        static string FirstLine(string text)
        {
            var nl = text.IndexOf('\n');
            return (nl < 0 ? text : text.Substring(0, nl)).Trim();
        }

        static void RemoveLeftoverTemps(string folder, string? ours)
        {
            // Writers hold the lock while a temp file exists, and so do we: any temp file here is the
            // remains of a write that a crash interrupted, or a result another writer flushed before
            // taking the lock (it finds it gone and writes again under the lock).
            foreach (var temp in Directory.EnumerateFiles(folder, "*" + PrivateFiles.TempSuffix))
                if (!string.Equals(temp, ours, StringComparison.Ordinal)) PrivateFiles.TryDelete(temp);
        }

        void SweepGraveyard()
        {
            foreach (var dead in Directory.EnumerateDirectories(RunsFolder, DeletedPrefix + "*"))
            {
                try { Directory.Delete(dead, recursive: true); }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
        }


        // ------------------------------------------------------------------------------------
        // Log retention (the trimming itself is LogTrimmer's)
        // ------------------------------------------------------------------------------------

        /// <summary>Caps a finished run's log, and the store's logs in total (oldest finished runs first).</summary>
        void ApplyRetention(string runId)
        {
            try
            {
                _logs.AfterRunEnded(runId);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                Report(runId, RunFolder(runId), $"its log could not be trimmed ({ex.Message}).");
            }
        }

        /// <summary>Empties the logs of the oldest finished runs until all logs fit; returns the total kept.</summary>
        public long EnforceLogLimits() => _logs.EnforceTotal();
    }
}
