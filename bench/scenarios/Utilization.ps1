<#
    (b) Slot utilization: 40 runs of 'sleep 0.5' at 4 slots on the local backend, against the ideal
    5.0 s (40 x 0.5 / 4) and against xargs -P 4 doing the same in the same run.
#>
param([int] $Repeat = 3, [int] $Runs = 40, [double] $Sleep = 0.5, [int] $Slots = 4)
. (Join-Path (Split-Path -Parent $PSScriptRoot) 'BenchCommon.ps1')
$module = Get-BenchModulePath
$ideal = $Runs * $Sleep / $Slots

$script = @"
Import-Module '$module'
`$null = Connect-RayCluster -Backend Local -MaxConcurrent $Slots
`$configs = 1..$Runs | ForEach-Object { @{ i = `$_ } }
`$clock = [Diagnostics.Stopwatch]::StartNew()
`$results = Invoke-RayExperiment -Config `$configs -Entrypoint 'sleep $Sleep' -ProgressAction SilentlyContinue
`$seconds = `$clock.Elapsed.TotalSeconds
if (@(`$results | Where-Object Status -eq 'completed').Count -ne $Runs) { throw 'not every run completed' }
'BENCH ' + (@{ seconds = `$seconds } | ConvertTo-Json -Compress)
"@

$rr = @(); $xargs = @()
for ($i = 0; $i -lt $Repeat; $i++) {
    Write-Host "Utilization: repeat $($i + 1) of $Repeat"
    $home_ = New-BenchFolder -Name util
    try {
        $xargs += Measure-ShellSeconds "seq $Runs | xargs -P $Slots -I{} sleep $Sleep"
        $rr += (Invoke-BenchChild -Script $script -Environment @{ RAYRUNNER_HOME = $home_ }).seconds
    }
    finally { Remove-Item -LiteralPath $home_ -Recurse -Force -ErrorAction SilentlyContinue }
}
New-BenchRow "xargs -P $Slots" $xargs 's' 'ideal' $ideal
New-BenchRow 'RayRunner local' $rr 's' 'ideal' $ideal '<= 1.03x ideal'
