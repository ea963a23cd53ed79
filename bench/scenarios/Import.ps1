<#
    (e) Import-Module RayRunner against Import-Module ThreadJob, each in a new pwsh (the cost a user
    pays once per session), alternating so machine load hits both alike. Timed inside the session,
    around Import-Module alone.
#>
param([int] $Repeat = 7)
. (Join-Path (Split-Path -Parent $PSScriptRoot) 'BenchCommon.ps1')
$module = Get-BenchModulePath

function ImportScript([string] $Name) {
    @"
`$clock = [Diagnostics.Stopwatch]::StartNew()
Import-Module '$Name'
'BENCH ' + (@{ ms = `$clock.Elapsed.TotalMilliseconds } | ConvertTo-Json -Compress)
"@
}
$rr = @(); $tj = @()
for ($i = 0; $i -lt $Repeat; $i++) {
    Write-Host "Import: repeat $($i + 1) of $Repeat"
    $tj += (Invoke-BenchChild -Script (ImportScript 'ThreadJob')).ms
    $rr += (Invoke-BenchChild -Script (ImportScript $module)).ms
}
$anchor = Get-Median $tj
New-BenchRow 'Import-Module ThreadJob' $tj 'ms' 'ThreadJob' $anchor
New-BenchRow 'Import-Module RayRunner' $rr 'ms' 'ThreadJob' $anchor '<= 1x ThreadJob'
