using System;
using System.IO;
using System.Text;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// The tailed log text on its way into the run store: written to a private temp file beside
    /// the run's log (never held in memory), up to a byte cap, and moved into place in one step
    /// (<see cref="Commit"/>), so a reader sees no log or the whole kept log, never half of one.
    /// </summary>
    internal sealed class TailCopy : IDisposable
    {
        readonly string _target;
        readonly string _temp;
        readonly long _maxBytes;
        FileStream? _stream;
        StreamWriter? _writer;
        long _bytes;
        bool _cut;
        bool _failed;

        public TailCopy(string target, long maxBytes)
        {
            _target = target;
            _maxBytes = maxBytes;
            _temp = Path.Combine(Path.GetDirectoryName(target)!, "." + Path.GetFileName(target) + ".ray" + PrivateFiles.TempSuffix);
        }

        /// <summary>Characters the tail delivered in all (kept or not): what the whole log is compared with.</summary>
        public long Chars { get; private set; }

        /// <summary>Starts over (a broken stream is read again from its beginning).</summary>
        public void Restart()
        {
            Close();
            Chars = 0;
            _bytes = 0;
            _cut = false;
            _failed = false;
            try
            {
                PrivateFiles.TryDelete(_temp);
                _stream = new FileStream(_temp, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
                PrivateFiles.SetMode(_temp, PrivateFiles.FileMode);
                _writer = new StreamWriter(_stream, new UTF8Encoding(false));
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                _failed = true;
            }
        }

        public void Write(string text)
        {
            Chars += text.Length;
            if (_writer == null || _cut || _failed) return;
            var bytes = Encoding.UTF8.GetByteCount(text);
            try
            {
                if (_bytes + bytes > _maxBytes)
                {
                    _writer.Write(CutNote(_maxBytes));
                    _cut = true;
                    return;
                }
                _writer.Write(text);
                _bytes += bytes;
            }
            catch (IOException)
            {
                _failed = true;
            }
        }

        /// <summary>Moves the copy into place as the run's log; null when it could not be written (the log then stays only on the cluster).</summary>
        public string? Commit()
        {
            try
            {
                if (_failed || _writer == null) return null;
                _writer.Flush();
                _stream!.Flush(flushToDisk: true);
                Close();
                PrivateFiles.Replace(_temp, _target);
                return _target;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>Drops the copy (the whole log was kept instead).</summary>
        public void Discard()
        {
            Close();
            PrivateFiles.TryDelete(_temp);
        }

        /// <summary>The text cut to the cap, with a line saying so.</summary>
        public static string Cut(string text, long maxBytes) => text + CutNote(maxBytes);

        static string CutNote(long maxBytes) =>
            $"\n[RayRunner: the log was kept up to {maxBytes / (1024 * 1024)} MiB; the rest is only on the cluster.]\n";

        void Close()
        {
            try { _writer?.Dispose(); } catch (IOException) { }
            _writer = null;
            _stream = null;
        }

        public void Dispose()
        {
            Close();
            PrivateFiles.TryDelete(_temp);
        }
    }
}
