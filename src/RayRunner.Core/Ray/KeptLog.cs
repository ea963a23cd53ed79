using System;
using System.IO;
using System.Linq;

namespace RayRunner.Core.Ray
{
    /// <summary>Reads a log the run store keeps (written whole, in one step, once the job ended).</summary>
    internal static class KeptLog
    {
        /// <summary>The kept log, or its last <paramref name="tailLines"/> lines; null when none is kept (yet).</summary>
        public static string? Read(string? path, int? tailLines)
        {
            if (path == null || !File.Exists(path)) return null;
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                var text = reader.ReadToEnd();
                if (tailLines == null) return text;
                if (tailLines <= 0) return "";
                var scanner = new LogLineScanner(tailLines.Value);
                scanner.Feed(text);
                scanner.Complete();
                return scanner.TailText();
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return null; // unreadable here: the cluster may still have it
            }
        }
    }
}
