using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using RayRunner.Core;
using Xunit;

namespace RayRunner.Tests.Unit.Configuration
{
    /// <summary>A config too large to launch is refused while it is validated, naming the setting (issue 12).</summary>
    public class CommandLineLimitsTests
    {
        static readonly EntrypointTemplate Overrides = EntrypointTemplate.Parse("python train.py {overrides}");
        static readonly EntrypointTemplate Both = EntrypointTemplate.Parse("python train.py {overrides} --config {config_json}");

        static Dictionary<string, object?> WithBlob(int size) => new Dictionary<string, object?>
        {
            ["lr"] = 0.1,
            ["data"] = new Dictionary<string, object?> { ["blob"] = new string('x', size) },
        };

        [Fact]
        public void A_200_KB_value_is_refused_with_its_key_and_a_way_out()
        {
            var ex = Assert.Throws<ConfigValidationException>(() => CommandLineLimits.ForThisMachine().Check(WithBlob(200 * 1024), Overrides));
            Assert.Equal("data.blob", ex.KeyPath);
            Assert.Contains("'data.blob'", ex.Message);
            Assert.Contains("RAYRUNNER_TASK_INPUT", ex.Message);
            Assert.Contains("file", ex.Message);
        }

        [Fact]
        public void An_ordinary_config_passes()
        {
            CommandLineLimits.ForThisMachine().Check(WithBlob(1000), Both);
            CommandLineLimits.ForRay().Check(WithBlob(1000), Both);
        }

        [Fact]
        public void Ray_counts_the_whole_command_as_one_shell_string()
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) return; // this machine's limit is smaller there
            // 70 KB twice on the command line: each argument fits on a Unix machine, one shell string does not.
            var config = WithBlob(70 * 1024);
            CommandLineLimits.ForThisMachine().Check(config, Both);
            var ex = Assert.Throws<ConfigValidationException>(() => CommandLineLimits.ForRay().Check(config, Both));
            Assert.Contains("a Ray cluster", ex.Message);
        }

        [Fact]
        public void The_limit_is_where_Linux_refuses_to_start_a_process()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return;
            // The premise: one environment entry of 128 KiB (MAX_ARG_STRLEN) makes execve fail.
            var start = new ProcessStartInfo("/bin/true") { UseShellExecute = false };
            start.Environment[TaskSpec.EnvTaskInput] = new string('x', 128 * 1024);
            Assert.Throws<Win32Exception>(() => Process.Start(start)!.WaitForExit());
            start.Environment[TaskSpec.EnvTaskInput] = new string('x', 100 * 1024);
            using (var ok = Process.Start(start)!) ok.WaitForExit();

            // And the check draws the line there.
            CommandLineLimits.ForThisMachine().Check(WithBlob(100 * 1024), Overrides);
            Assert.Throws<ConfigValidationException>(() => CommandLineLimits.ForThisMachine().Check(WithBlob(128 * 1024), Overrides));
        }
    }
}
