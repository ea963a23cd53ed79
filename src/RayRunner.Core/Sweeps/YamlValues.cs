using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RayRunner.Core.Sweeps
{
    /// <summary>
    /// Reads a YAML document into the plain values configs are made of (maps, lists, strings,
    /// booleans, whole and real numbers, null). Unquoted scalars are typed as YAML 1.2's core
    /// schema does, and as Hydra/OmegaConf read tmgg's stage files: <c>1e-2</c> is a number,
    /// <c>'1e-2'</c> and <c>"yes"</c> are text.
    /// </summary>
    internal static class YamlValues
    {
        public static object? Read(string text, string source)
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(text));
            }
            catch (YamlException ex)
            {
                throw new SweepDefinitionException(SweepProblem.Invalid,
                    $"{source} is not valid YAML (line {ex.Start.Line}, column {ex.Start.Column}: {ex.Message}). Fix the file, or write it as JSON.");
            }
            if (stream.Documents.Count == 0) return null;
            if (stream.Documents.Count > 1)
                throw new SweepDefinitionException(SweepProblem.Invalid, $"{source} holds {stream.Documents.Count} YAML documents; a sweep file is one document (remove the extra '---').");
            return Convert(stream.Documents[0].RootNode, 0);
        }

        static object? Convert(YamlNode node, int depth)
        {
            if (depth > ExperimentConfig.MaxDepth)
                throw new SweepDefinitionException(SweepProblem.Invalid, $"The sweep file nests deeper than {ExperimentConfig.MaxDepth} levels (line {node.Start.Line}); does an alias refer to itself?");
            switch (node)
            {
                case YamlMappingNode map:
                    var result = new Dictionary<string, object?>(StringComparer.Ordinal);
                    foreach (var entry in map.Children)
                    {
                        if (entry.Key is not YamlScalarNode key || key.Value == null)
                            throw new SweepDefinitionException(SweepProblem.Invalid, $"The sweep file has a map key that is not plain text (line {entry.Key.Start.Line}).");
                        if (result.ContainsKey(key.Value))
                            throw new SweepDefinitionException(SweepProblem.Invalid, $"The key '{key.Value}' appears twice in one map (line {entry.Key.Start.Line}).", key.Value);
                        result[key.Value] = Convert(entry.Value, depth + 1);
                    }
                    return result;
                case YamlSequenceNode seq:
                    var list = new List<object?>();
                    foreach (var item in seq.Children) list.Add(Convert(item, depth + 1));
                    return list;
                case YamlScalarNode scalar:
                    return scalar.Style == ScalarStyle.Plain ? Plain(scalar.Value ?? "") : scalar.Value;
                default:
                    throw new SweepDefinitionException(SweepProblem.Invalid, $"The sweep file has an entry RayRunner cannot read (line {node.Start.Line}).");
            }
        }

        static object? Plain(string text)
        {
            switch (text)
            {
                case "": case "~": case "null": case "Null": case "NULL": return null;
                case "true": case "True": case "TRUE": return true;
                case "false": case "False": case "FALSE": return false;
            }
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
            if (text.StartsWith("0x", StringComparison.Ordinal) && long.TryParse(text.Substring(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex)) return hex;
            if (LooksNumeric(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d;
            return text;
        }

        /// <summary>Only digits, signs, a dot and an exponent: keeps "Infinity" and "NaN" text, as YAML does.</summary>
        static bool LooksNumeric(string text)
        {
            var digit = false;
            foreach (var ch in text)
            {
                if (char.IsDigit(ch)) digit = true;
                else if (ch != '.' && ch != '-' && ch != '+' && ch != 'e' && ch != 'E') return false;
            }
            return digit;
        }
    }
}
