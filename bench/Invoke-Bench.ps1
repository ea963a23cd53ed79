<#
.SYNOPSIS
    Runs one benchmark scenario (or all): RayRunner and its anchor measured in the same run, with
    median, spread (min-max) over repeated runs, and the ratio. See BENCHMARKS.md.
.EXAMPLE
    dotnet pwsh ./bench/Invoke-Bench.ps1 -Scenario NoOp
.EXAMPLE
    dotnet pwsh ./bench/Invoke-Bench.ps1 -Scenario All -Repeat 3
.NOTES
    Build first (dotnet build RayRunner.sln -c Release). Stores go under the temp folder (or
    $env:RAYRUNNER_BENCH_DIR), on disk as a user's would be. Each scenario takes under ~2 minutes.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [ValidateSet('NoOp', 'Utilization', 'Ray', 'Listing', 'Import', 'CtrlC', 'All')]
    [string] $Scenario,
    # Repeated runs per measurement; each scenario has its own default.
    [int] $Repeat)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'BenchCommon.ps1')
$names = if ($Scenario -eq 'All') { 'NoOp', 'Utilization', 'Ray', 'Listing', 'Import', 'CtrlC' } else { , $Scenario }
$cpu = (Get-Content /proc/cpuinfo -ErrorAction SilentlyContinue | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
Write-Host ("machine: {0} cores {1}; {2}; pwsh {3}; load {4}" -f [Environment]::ProcessorCount, $cpu,
    [System.Runtime.InteropServices.RuntimeInformation]::OSDescription, $PSVersionTable.PSVersion,
    (((Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -split ' ' | Select-Object -First 3) -join ' '))
foreach ($name in $names) {
    $arguments = @{}
    if ($Repeat) { $arguments.Repeat = $Repeat }
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $rows = & (Join-Path $PSScriptRoot "scenarios/$name.ps1") @arguments
    Write-Host "== $name ($([int]$clock.Elapsed.TotalSeconds) s)"
    $rows | Format-BenchRows | Write-Host
}
