using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using RayRunner.Tests.Unit.Ray.StandIn;

namespace RayRunner.RayStandIn
{
    /// <summary>A one-shot fault: the next request matching METHOD and PATH gets KIND.</summary>
    public sealed record OneShotFault(FaultKind Kind, string Method, string Path)
    {
        /// <summary>PATH ending in '*' matches by prefix, otherwise exactly.</summary>
        public bool Matches(string path) =>
            Path.EndsWith("*", StringComparison.Ordinal)
                ? path.StartsWith(Path.Substring(0, Path.Length - 1), StringComparison.Ordinal)
                : path == Path;
    }

    /// <summary>The command line of the program; <see cref="Parse"/> explains every mistake.</summary>
    public sealed class StandInOptions
    {
        public const string Usage =
@"usage: dotnet RayStandIn.dll [options]
Serves a Ray dashboard stand-in (tests/Unit/Ray/StandIn) on 127.0.0.1 and prints one line
  RAYSTANDIN {""address"":..., ""control"":..., ""cliControl"":..., ""argvLog"":...}
then serves until stdin closes, POST <control>/stop, the parent process dies or --max-lifetime.
  --port N                 dashboard port (0: any free port; default 0)
  --slots N                the cluster's experiment_slot total (default 64)
  --cpus N                 the cluster's CPUs (default 64)
  --token T                token mode: requests need 'Authorization: Bearer T'
  --echo-auth-in-errors    403 bodies repeat the presented token (a misbehaving proxy)
  --ray-version V          the ray_version the dashboard reports
  --no-agent-submits N     the first N submits answer 500 'No available agent'
  --fault-rate R           each request under --fault-path-prefix fails with probability R
  --fault-kinds K,K        the kinds drawn: ServerError, Drop, LoseResponse, Stall (default the first three)
  --fault-seed S           seed of the random plan (default 1)
  --fault-path-prefix P    where random faults apply (default /api/jobs)
  --fault-once K@M:PATH    the next M request to PATH gets K (PATH ending in * is a prefix); repeatable
  --tail-drops-last-lines N  the log tail of an ended job leaves out its last N lines (ray#46413)
  --cli                    also serve the control server of tests/fixtures/ray/ray (a stand-in 'ray' CLI)
  --no-dashboard           serve no dashboard (with --cli: only 'ray start' brings one up)
  --parent-pid P           exit when process P ends
  --max-lifetime S         exit after S seconds whatever happens (default 900)";

        public int Port { get; private set; }
        public double Slots { get; private set; } = 64;
        public double Cpus { get; private set; } = 64;
        public string? Token { get; private set; }
        public bool EchoAuthorizationInErrors { get; private set; }
        public string? RayVersion { get; private set; }
        public int NoAgentSubmits { get; private set; }
        public int TailDropsLastLines { get; private set; }
        public double FaultRate { get; private set; }
        public IReadOnlyList<FaultKind> FaultKinds { get; private set; } = new[] { FaultKind.ServerError, FaultKind.Drop, FaultKind.LoseResponse };
        public int FaultSeed { get; private set; } = 1;
        public string FaultPathPrefix { get; private set; } = "/api/jobs";
        public List<OneShotFault> OneShotFaults { get; } = new();
        public bool Cli { get; private set; }
        public bool Dashboard { get; private set; } = true;
        public int? ParentPid { get; private set; }
        public TimeSpan MaxLifetime { get; private set; } = TimeSpan.FromSeconds(900);

        /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> naming the option and what it takes.</summary>
        public static StandInOptions Parse(IReadOnlyList<string> args)
        {
            var o = new StandInOptions();
            for (var i = 0; i < args.Count; i++)
            {
                var name = args[i];
                string Value()
                {
                    if (i + 1 >= args.Count) throw new ArgumentException($"{name} needs a value.");
                    return args[++i];
                }
                switch (name)
                {
                    case "--port": o.Port = Int(name, Value(), 0, 65535); break;
                    case "--slots": o.Slots = Number(name, Value()); break;
                    case "--cpus": o.Cpus = Number(name, Value()); break;
                    case "--token": o.Token = Value(); break;
                    case "--echo-auth-in-errors": o.EchoAuthorizationInErrors = true; break;
                    case "--ray-version": o.RayVersion = Value(); break;
                    case "--no-agent-submits": o.NoAgentSubmits = Int(name, Value(), 0, int.MaxValue); break;
                    case "--fault-rate":
                        o.FaultRate = Number(name, Value());
                        if (o.FaultRate < 0 || o.FaultRate > 1) throw new ArgumentException($"{name} takes a probability between 0 and 1.");
                        break;
                    case "--fault-kinds": o.FaultKinds = Value().Split(',').Select(k => Kind(name, k)).ToArray(); break;
                    case "--fault-seed": o.FaultSeed = Int(name, Value(), int.MinValue, int.MaxValue); break;
                    case "--fault-path-prefix": o.FaultPathPrefix = Value(); break;
                    case "--fault-once": o.OneShotFaults.Add(OneShot(name, Value())); break;
                    case "--tail-drops-last-lines": o.TailDropsLastLines = Int(name, Value(), 0, 1000000); break;
                    case "--cli": o.Cli = true; break;
                    case "--no-dashboard": o.Dashboard = false; break;
                    case "--parent-pid": o.ParentPid = Int(name, Value(), 1, int.MaxValue); break;
                    case "--max-lifetime": o.MaxLifetime = TimeSpan.FromSeconds(Int(name, Value(), 1, 86400)); break;
                    default: throw new ArgumentException($"Unknown option '{name}'.");
                }
            }
            if (!o.Dashboard && !o.Cli) throw new ArgumentException("--no-dashboard without --cli would serve nothing.");
            return o;
        }

        /// <summary>The settings of a dashboard (the program's own, or one 'ray start' brings up).</summary>
        public StandInSettings NewSettings()
        {
            var s = new StandInSettings
            {
                ExperimentSlots = Slots,
                Cpus = Cpus,
                Token = Token,
                EchoAuthorizationInErrors = EchoAuthorizationInErrors,
                NoAgentSubmits = NoAgentSubmits,
                TailDropsLastLines = TailDropsLastLines,
            };
            if (RayVersion != null) s.RayVersion = RayVersion;
            return s;
        }

        static int Int(string name, string text, int min, int max)
        {
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
                throw new ArgumentException($"{name} takes a whole number from {min} to {max}, not '{text}'.");
            return v;
        }

        static double Number(string name, string text)
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || double.IsNaN(v) || v < 0)
                throw new ArgumentException($"{name} takes a non-negative number, not '{text}'.");
            return v;
        }

        static FaultKind Kind(string name, string text)
        {
            if (Enum.TryParse<FaultKind>(text.Trim(), ignoreCase: true, out var k) && k != FaultKind.None && Enum.IsDefined(typeof(FaultKind), k)) return k;
            throw new ArgumentException($"{name}: '{text}' is not a fault kind; use ServerError, Drop, LoseResponse or Stall.");
        }

        static OneShotFault OneShot(string name, string text)
        {
            var at = text.IndexOf('@');
            var colon = at < 0 ? -1 : text.IndexOf(':', at);
            if (at <= 0 || colon < 0 || colon == text.Length - 1)
                throw new ArgumentException($"{name} takes KIND@METHOD:PATH (e.g. LoseResponse@POST:/api/jobs/), not '{text}'.");
            return new OneShotFault(Kind(name, text.Substring(0, at)), text.Substring(at + 1, colon - at - 1).ToUpperInvariant(), text.Substring(colon + 1));
        }
    }
}
