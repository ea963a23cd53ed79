using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace RayRunner.Core.Local
{
    /// <summary>Reads a run's log while the run may still be writing it; never loads the whole file for a tail.</summary>
    internal static class LogFile
    {
        const int BlockSize = 16 * 1024;

        static readonly Encoding Utf8 = new UTF8Encoding(false, throwOnInvalidBytes: false);

        public static string ReadAll(string path)
        {
            using var stream = TryOpen(path);
            if (stream == null) return "";
            using var reader = new StreamReader(stream, Utf8);
            return reader.ReadToEnd();
        }

        /// <summary>The last <paramref name="lines"/> lines, joined with \n.</summary>
        public static string Tail(string path, int lines)
        {
            if (lines <= 0) return "";
            var last = new List<string>();
            foreach (var line in ReadLinesBackward(path))
            {
                last.Add(line);
                if (last.Count == lines) break;
            }
            last.Reverse();
            return string.Join("\n", last);
        }

        /// <summary>
        /// The lines from the last to the first, read in blocks from the end. Lines are split on
        /// '\n' bytes, which never occur inside a multi-byte UTF-8 character, and lose a trailing '\r'.
        /// </summary>
        public static IEnumerable<string> ReadLinesBackward(string path)
        {
            using var stream = TryOpen(path);
            if (stream == null) yield break;
            var position = stream.Length;
            if (position == 0) yield break;
            stream.Position = position - 1;
            if (stream.ReadByte() == '\n') position--; // a final newline ends the last line, it starts no new one

            var carry = new byte[0]; // the end of a line whose start is in an earlier block
            while (position > 0)
            {
                var size = (int)Math.Min(BlockSize, position);
                position -= size;
                var block = new byte[size + carry.Length];
                stream.Position = position;
                ReadExactly(stream, block, size);
                Buffer.BlockCopy(carry, 0, block, size, carry.Length);

                var end = block.Length;
                for (var i = block.Length - 1; i >= 0; i--)
                {
                    if (block[i] != (byte)'\n') continue;
                    yield return Decode(block, i + 1, end - i - 1);
                    end = i;
                }
                carry = new byte[end];
                Buffer.BlockCopy(block, 0, carry, 0, end);
            }
            yield return Decode(carry, 0, carry.Length);
        }

        static string Decode(byte[] bytes, int offset, int count)
        {
            if (count > 0 && bytes[offset + count - 1] == (byte)'\r') count--;
            return Utf8.GetString(bytes, offset, count);
        }

        static void ReadExactly(Stream stream, byte[] buffer, int count)
        {
            var read = 0;
            while (read < count)
            {
                var n = stream.Read(buffer, read, count - read);
                if (n == 0) throw new EndOfStreamException("The log file shrank while it was being read.");
                read += n;
            }
        }

        static FileStream? TryOpen(string path)
        {
            try
            {
                return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (FileNotFoundException) { return null; }
            catch (DirectoryNotFoundException) { return null; }
        }
    }
}
