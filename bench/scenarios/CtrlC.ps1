<#
    (f) Ctrl+C latency of Wait-RayRun. A child pwsh (the user's session) starts a local run of
    'sleep 60' and waits on it with Wait-RayRun; this script sends the child SIGINT, which is what a
    terminal sends on Ctrl+C, and times until the child's finally block runs (the pipeline stopped)
    and until the process exited. SIGINT to a real child pwsh rather than a hosted
    PowerShell.Stop(): it goes through pwsh's own signal handling, as the user's Ctrl+C does, and a
    hosted Stop() would skip exactly the path a user depends on. Anchor: Start-Sleep stopped the same
    way (pwsh's own floor). Both clocks are Stopwatch timestamps (CLOCK_MONOTONIC, shared by processes).
#>
param([int] $Repeat = 5)
. (Join-Path (Split-Path -Parent $PSScriptRoot) 'BenchCommon.ps1')
$module = Get-BenchModulePath
if ($IsWindows) { throw 'CtrlC sends SIGINT: Linux and macOS only.' }

if (-not ('RayRunnerBench.Signal' -as [type])) {
    Add-Type -Namespace RayRunnerBench -Name Signal -MemberDefinition '[System.Runtime.InteropServices.DllImport("libc", SetLastError = true)] public static extern int kill(int pid, int sig);'
}

$waitScript = @"
Import-Module '$module'
`$null = Connect-RayCluster -Backend Local -MaxConcurrent 1
`$run = Start-RayExperiment -Config @{ i = 1 } -Entrypoint 'sleep 60'
[Console]::Out.WriteLine('READY'); [Console]::Out.Flush()
try { `$null = Wait-RayRun -Id `$run.RunId }
finally { [Console]::Out.WriteLine('STOPPED ' + [Diagnostics.Stopwatch]::GetTimestamp()); [Console]::Out.Flush() }
"@
$sleepScript = @"
[Console]::Out.WriteLine('READY'); [Console]::Out.Flush()
try { Start-Sleep -Seconds 60 }
finally { [Console]::Out.WriteLine('STOPPED ' + [Diagnostics.Stopwatch]::GetTimestamp()); [Console]::Out.Flush() }
"@

function Measure-Interrupt([string] $Script, [hashtable] $Environment) {
    $file = Join-Path ([System.IO.Path]::GetTempPath()) ('rayrunner-bench-' + [guid]::NewGuid().ToString('N').Substring(0, 8) + '.ps1')
    Set-Content -LiteralPath $file -Value $Script -Encoding utf8
    $p = Start-BenchPwsh -File $file -Environment $Environment
    try {
        $ready = $p.StandardOutput.ReadLineAsync()
        if (-not $ready.Wait(60000) -or $ready.Result -ne 'READY') { throw "The session did not get ready: $($ready.Result) $($p.StandardError.ReadToEnd())" }
        # READY comes just before the wait starts: give the cmdlet time to be inside its wait.
        Start-Sleep -Milliseconds 500
        $sent = [System.Diagnostics.Stopwatch]::GetTimestamp()
        if ([RayRunnerBench.Signal]::kill($p.Id, 2) -ne 0) { throw 'kill(SIGINT) failed' }
        $line = $p.StandardOutput.ReadLineAsync()
        if (-not $line.Wait(30000)) { throw 'The session did not stop within 30 s of SIGINT.' }
        if (-not $p.WaitForExit(30000)) { throw 'The session did not exit within 30 s of SIGINT.' }
        $exited = [System.Diagnostics.Stopwatch]::GetTimestamp()
        $f = [System.Diagnostics.Stopwatch]::Frequency / 1000.0
        @{ stop = ([long]$line.Result.Split(' ')[1] - $sent) / $f; exit = ($exited - $sent) / $f }
    }
    finally {
        if (-not $p.HasExited) { $p.Kill($true) }
        Remove-Item -LiteralPath $file -ErrorAction SilentlyContinue
    }
}

$ws = @(); $we = @(); $ss = @(); $se = @()
for ($i = 0; $i -lt $Repeat; $i++) {
    Write-Host "CtrlC: repeat $($i + 1) of $Repeat"
    $home_ = New-BenchFolder -Name ctrlc
    try {
        $s = Measure-Interrupt $sleepScript @{}
        $ss += $s.stop; $se += $s.exit
        $w = Measure-Interrupt $waitScript @{ RAYRUNNER_HOME = $home_ }
        $ws += $w.stop; $we += $w.exit
        # The run goes on (it is detached, as promised); stop it so nothing outlives the benchmark.
        Get-ChildItem -LiteralPath (Join-Path $home_ 'runs') -Recurse -Filter 'output.pid' -ErrorAction SilentlyContinue |
            ForEach-Object { $runPid = [int]((Get-Content -LiteralPath $_.FullName -Raw).Split(' ')[0]); [void][RayRunnerBench.Signal]::kill(-$runPid, 9) }
    }
    finally { Remove-Item -LiteralPath $home_ -Recurse -Force -ErrorAction SilentlyContinue }
}
$anchor = Get-Median $ss
New-BenchRow 'Start-Sleep: stopped' $ss 'ms' 'Start-Sleep' $anchor
New-BenchRow 'Wait-RayRun: stopped' $ws 'ms' 'Start-Sleep' $anchor '< 250 ms'
New-BenchRow 'Start-Sleep: exited' $se 'ms' 'Start-Sleep' (Get-Median $se)
New-BenchRow 'Wait-RayRun: exited' $we 'ms' 'Start-Sleep' (Get-Median $se)
