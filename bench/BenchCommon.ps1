<#
    Shared by bench/Invoke-Bench.ps1 and bench/scenarios/*.ps1 (dot-sourced): start child pwsh
    sessions like a user's, time things, and print median, spread and ratios. Figures only: no
    benchmark here is a test, and none asserts a time.
#>

$script:RepoRoot = Split-Path -Parent $PSScriptRoot
. (Join-Path $script:RepoRoot 'tests/Pester/ChildPwsh.ps1')

function Get-BenchModulePath {
    $psd1 = Join-Path $script:RepoRoot 'out/RayRunner/RayRunner.psd1'
    if (-not (Test-Path -LiteralPath $psd1)) { throw "The module is not built ($psd1). Run: dotnet build RayRunner.sln -c Release" }
    $psd1
}

function New-BenchFolder {
    # On the same disk as a user's ~/.rayrunner (not tmpfs), so store writes cost what they cost.
    param([string] $Name = 'bench')
    $base = if ($env:RAYRUNNER_BENCH_DIR) { $env:RAYRUNNER_BENCH_DIR } else { [System.IO.Path]::GetTempPath() }
    $path = Join-Path $base ("rayrunner-$Name-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $null = New-Item -ItemType Directory -Path $path
    $path
}

<#
    Runs a script in a new pwsh process (-NoProfile -NonInteractive), in $WorkingDirectory, with extra
    environment variables. The script reports by writing lines 'BENCH <json>'; returns those objects.
    Kills the process and throws when it outlives the timeout or fails.
#>
function Invoke-BenchChild {
    param(
        [Parameter(Mandatory)] [string] $Script,
        [hashtable] $Environment = @{},
        [string] $WorkingDirectory = [System.IO.Path]::GetTempPath(),
        [int] $TimeoutSec = 300)
    $file = Join-Path ([System.IO.Path]::GetTempPath()) ('rayrunner-bench-' + [guid]::NewGuid().ToString('N').Substring(0, 8) + '.ps1')
    Set-Content -LiteralPath $file -Value $Script -Encoding utf8
    try {
        $process = Start-BenchPwsh -File $file -Environment $Environment -WorkingDirectory $WorkingDirectory
        $stdout = $process.StandardOutput.ReadToEndAsync()
        $stderr = $process.StandardError.ReadToEndAsync()
        if (-not $process.WaitForExit($TimeoutSec * 1000)) {
            $process.Kill($true)
            throw "A benchmark session did not finish within $TimeoutSec s; killed."
        }
        $process.WaitForExit()
        if ($process.ExitCode -ne 0) { throw "A benchmark session failed (exit $($process.ExitCode)): $($stderr.Result)$($stdout.Result)" }
        @($stdout.Result -split "`n" | Where-Object { $_.StartsWith('BENCH ') } | ForEach-Object { $_.Substring(6) | ConvertFrom-Json })
    }
    finally { Remove-Item -LiteralPath $file -ErrorAction SilentlyContinue }
}

# Starts a child pwsh on a script file with redirected stdin/stdout/stderr; the caller owns the process.
function Start-BenchPwsh {
    param([Parameter(Mandatory)] [string] $File, [hashtable] $Environment = @{}, [string] $WorkingDirectory = [System.IO.Path]::GetTempPath())
    $command = @(Get-ChildPwshCommand)
    $psi = [System.Diagnostics.ProcessStartInfo]::new($command[0])
    foreach ($a in @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $File)) { $psi.ArgumentList.Add($a) }
    $psi.WorkingDirectory = $WorkingDirectory
    $psi.UseShellExecute = $false
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $self = (Get-Process -Id $PID).Path
    if (-not $env:DOTNET_ROOT -and [System.IO.Path]::GetFileNameWithoutExtension($self) -eq 'dotnet') {
        $psi.Environment['DOTNET_ROOT'] = Split-Path -Parent $self
    }
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = [string]$Environment[$k] }
    [System.Diagnostics.Process]::Start($psi)
}

# Times a native command line run by /bin/sh (the anchors: xargs and friends), in seconds.
function Measure-ShellSeconds {
    param([Parameter(Mandatory)] [string] $CommandLine)
    (Measure-Shell $CommandLine).Seconds
}

# Wall seconds and CPU milliseconds (user + system of the shell and everything it waited for).
function Measure-Shell {
    param([Parameter(Mandatory)] [string] $CommandLine)
    $cpu0 = Get-ReapedCpuMs
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    & /bin/sh -c $CommandLine
    if ($LASTEXITCODE -ne 0) { throw "'$CommandLine' failed (exit $LASTEXITCODE)." }
    [pscustomobject]@{ Seconds = $clock.Elapsed.TotalSeconds; CpuMs = (Get-ReapedCpuMs) - $cpu0 }
}

<#
    CPU this process's finished children used, user + system, in ms (Linux: cutime + cstime of
    /proc/self/stat, 10 ms ticks). A child counts once reaped, with everything it reaped in turn,
    so it covers a whole process chain (setsid, sh, the run). CPU is what a loaded machine cannot
    blur: wall times on a shared 2-core box swing 2-3x, CPU per run much less.
#>
function Get-ReapedCpuMs {
    $fields = ((Get-Content -LiteralPath "/proc/$PID/stat" -Raw) -replace '^.*\) ', '') -split ' '
    ([double]$fields[13] + [double]$fields[14]) * 10
}

# The same for a child session's script: its own CPU plus its reaped children's, in ms.
$script:CpuProbe = @'
function Get-SessionCpuMs {
    $f = ((Get-Content -LiteralPath "/proc/$PID/stat" -Raw) -replace '^.*\) ', '') -split ' '
    ([double]$f[11] + [double]$f[12] + [double]$f[13] + [double]$f[14]) * 10
}
'@

function Get-Median {
    param([double[]] $Values)
    $sorted = @($Values | Sort-Object)
    $n = $sorted.Count
    if ($n -eq 0) { return [double]::NaN }
    if ($n % 2) { $sorted[($n - 1) / 2] } else { ($sorted[$n / 2 - 1] + $sorted[$n / 2]) / 2 }
}

<#
    One row of a scenario's table: what was measured, its samples (same unit), and the median of
    the anchor it is compared with (ratio = median / anchor median; > 1 means slower than the anchor).
#>
function New-BenchRow {
    param([string] $Name, [double[]] $Samples, [string] $Unit, [string] $Anchor, [double] $AnchorMedian = [double]::NaN, [string] $Target = '')
    $median = Get-Median $Samples
    [pscustomobject]@{
        What   = $Name
        N      = $Samples.Count
        Median = $median
        Min    = ($Samples | Measure-Object -Minimum).Minimum
        Max    = ($Samples | Measure-Object -Maximum).Maximum
        Unit   = $Unit
        Ratio  = if ([double]::IsNaN($AnchorMedian) -or $AnchorMedian -eq 0) { $null } else { $median / $AnchorMedian }
        Anchor = $Anchor
        Target = $Target
    }
}

function Format-BenchRows {
    param([Parameter(ValueFromPipeline)] $Row)
    begin { $rows = [System.Collections.Generic.List[object]]::new() }
    process { $rows.Add($Row) }
    end {
        $rows | Format-Table -AutoSize @(
            'What', 'N',
            @{ n = 'Median'; e = { '{0:0.###} {1}' -f $_.Median, $_.Unit } },
            @{ n = 'Spread (min-max)'; e = { '{0:0.###}-{1:0.###}' -f $_.Min, $_.Max } },
            @{ n = 'Ratio'; e = { if ($null -ne $_.Ratio) { '{0:0.00}x {1}' -f $_.Ratio, $_.Anchor } } },
            'Target') | Out-String -Width 200
    }
}
