namespace RayRunner.Tests.Unit.Ray.StandIn
{
    /// <summary>Log text as the stand-in's faulty tail serves it (ray#46413).</summary>
    internal static class StandInLogText
    {
        /// <summary>The text without its last <paramref name="n"/> lines (a final newline ends a line, it does not start one).</summary>
        public static string DropLastLines(string text, int n)
        {
            var end = text.Length;
            if (end > 0 && text[end - 1] == '\n') end--;
            for (var i = 0; i < n && end > 0; i++)
            {
                var nl = text.LastIndexOf('\n', end - 1);
                end = nl < 0 ? 0 : nl;
            }
            return end == 0 ? "" : text.Substring(0, end + 1);
        }
    }
}
