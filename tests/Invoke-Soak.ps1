#Requires -Version 7.0
<#
.SYNOPSIS
    Runs the test suites again and again, to show they neither hang nor flake.

.DESCRIPTION
    Builds once, then runs the xUnit suite (and, with -Pester, the Pester suite) -Count times in a
    row. Every run is bounded: the blame collector kills a test that hangs longer than -HangTimeout
    and names it, so a hang is a failed run, never a stuck loop. Stops at the first failing run
    unless -KeepGoing. Per-run logs and result files go to out/soak/<n>/; the last line is
    "N of M runs passed".

.EXAMPLE
    dotnet tool restore; dotnet pwsh ./tests/Invoke-Soak.ps1 -Count 20

.EXAMPLE
    dotnet pwsh ./tests/Invoke-Soak.ps1 -Count 50 -Filter 'FullyQualifiedName~Local'
#>
[CmdletBinding()]
param(
    [int] $Count = 20,
    [string] $Filter,
    [switch] $Pester,
    [switch] $KeepGoing,
    [string] $HangTimeout = '5m'
)
$ErrorActionPreference = 'Stop'
$repo = Split-Path -Parent $PSScriptRoot
$out = Join-Path $repo 'out/soak'
if (Test-Path $out) { Remove-Item -Recurse -Force $out }
New-Item -ItemType Directory -Force $out | Out-Null

& dotnet build (Join-Path $repo 'RayRunner.sln') -nologo -v q
if ($LASTEXITCODE -ne 0) { throw 'The build failed.' }
if ($Pester) {
    & dotnet restore (Join-Path $repo 'build/tools/PesterRestore.csproj') -v q
    $pesterModule = Get-ChildItem (Join-Path $repo 'out/tools/packages/pester') -Recurse -Filter Pester.psd1 | Select-Object -First 1
}

$passedRuns = 0
for ($i = 1; $i -le $Count; $i++) {
    $dir = Join-Path $out $i
    New-Item -ItemType Directory -Force $dir | Out-Null
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $testArgs = @('test', (Join-Path $repo 'tests/Unit'), '--no-build', '--nologo', '--logger', 'trx;LogFileName=unit.trx',
        '--results-directory', $dir, '--blame-hang-timeout', $HangTimeout, '--blame-hang-dump-type', 'none')
    if ($Filter) { $testArgs += @('--filter', $Filter) }
    & dotnet @testArgs *> (Join-Path $dir 'xunit.log')
    $ok = $LASTEXITCODE -eq 0
    if ($ok -and $Pester) {
        $cmd = "Import-Module '$($pesterModule.FullName)'; `$c = New-PesterConfiguration; `$c.Run.Path = '$repo/tests/Pester'; `$c.Run.Exit = `$true; Invoke-Pester -Configuration `$c"
        & (Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })) -NoProfile -NonInteractive -Command $cmd *> (Join-Path $dir 'pester.log')
        $ok = $LASTEXITCODE -eq 0
    }
    $summary = (Select-String -Path (Join-Path $dir 'xunit.log') -Pattern '(Passed|Failed)!.*' | Select-Object -Last 1).Matches.Value
    Write-Host ("run {0,3}: {1} in {2:n0} s  {3}" -f $i, $(if ($ok) { 'passed' } else { 'FAILED' }), $watch.Elapsed.TotalSeconds, $summary)
    if ($ok) { $passedRuns++ }
    elseif (-not $KeepGoing) { Write-Host "Logs: $dir"; break }
}
Write-Host "$passedRuns of $Count runs passed"
if ($passedRuns -ne $Count) { exit 1 }
