using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;

namespace RayRunner.Core.Local
{
    /// <summary>
    /// Finds the file a command name stands for, before anything is started, so that a typo in the
    /// entrypoint is a failed run that says what was looked for, not an exit code 127.
    /// </summary>
    internal static class ProgramLocator
    {
        /// <param name="program">argv[0] as written in the entrypoint.</param>
        /// <param name="workingDirectory">Where a relative path such as ./train.sh is looked up.</param>
        /// <param name="path">The child's PATH.</param>
        /// <param name="pathExt">Windows only: PATHEXT (.COM;.EXE;...).</param>
        public static string? Find(string program, string workingDirectory, string? path, bool windows, string? pathExt)
        {
            if (string.IsNullOrEmpty(program)) return null;
            var extensions = windows ? WindowsExtensions(program, pathExt) : new[] { "" };
            var hasDirectory = program.IndexOf('/') >= 0 || (windows && program.IndexOf('\\') >= 0) || Path.IsPathRooted(program);
            if (hasDirectory)
                return FirstFile(Path.GetFullPath(Path.Combine(workingDirectory, program)), extensions, windows);

            if (string.IsNullOrEmpty(path)) return null;
            foreach (var dir in path!.Split(Path.PathSeparator))
            {
                // An empty entry means "the current directory" to a POSIX shell; searching it lets a
                // file dropped in the working folder shadow real programs, so it is skipped.
                if (dir.Length == 0) continue;
                string candidate;
                try
                {
                    candidate = Path.Combine(dir.Trim('"'), program);
                }
                catch (ArgumentException)
                {
                    continue; // a PATH entry with characters no path may hold
                }
                var found = FirstFile(candidate, extensions, windows);
                if (found != null) return found;
            }
            return null;
        }

        static string? FirstFile(string basePath, IReadOnlyList<string> extensions, bool windows)
        {
            foreach (var ext in extensions)
            {
                var candidate = basePath + ext;
                if (File.Exists(candidate) && (windows || IsExecutable(candidate))) return candidate;
            }
            return null;
        }

        static IReadOnlyList<string> WindowsExtensions(string program, string? pathExt)
        {
            var list = new List<string>();
            if (Path.HasExtension(program)) list.Add("");
            foreach (var ext in (string.IsNullOrEmpty(pathExt) ? ".COM;.EXE;.BAT;.CMD" : pathExt!).Split(';'))
                if (ext.Length > 0) list.Add(ext);
            return list;
        }

        // File.GetUnixFileMode exists from .NET 7; this assembly targets netstandard2.0, so it is
        // found by reflection. Where it is missing, any file counts (exec then reports the problem).
        static readonly MethodInfo? GetUnixFileMode =
            typeof(File).GetMethod("GetUnixFileMode", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(string) }, null);

        static bool IsExecutable(string file)
        {
            if (GetUnixFileMode == null) return true;
            try
            {
                var mode = Convert.ToInt32(GetUnixFileMode.Invoke(null, new object[] { file }));
                return (mode & 0x49) != 0; // any of user, group, other execute
            }
            catch (TargetInvocationException)
            {
                return true;
            }
        }
    }
}
