<#
    (d) Status and listing with 10,000 runs, each in a NEW session (a new pwsh, the module imported,
    no connection): Get-RayRun (every run), Get-RayRunStatus of one run, and the memory the listed
    runs hold (managed heap after a full GC, with and without them, per run). Anchor: the same new
    session listing the 10,000 run folders with Get-ChildItem (what any per-run-file listing costs).
    The store is made once by bench/StoreBench (10,000 finished runs).
#>
param([int] $Repeat = 5, [int] $Runs = 10000)
. (Join-Path (Split-Path -Parent $PSScriptRoot) 'BenchCommon.ps1')
$module = Get-BenchModulePath

$store = New-BenchFolder -Name listing
try {
    Write-Host "Listing: creating $Runs runs in $store"
    & dotnet run -c Release --project (Join-Path $script:RepoRoot 'bench/StoreBench') -- $Runs $store --create-only | Write-Host
    if ($LASTEXITCODE -ne 0) { throw 'StoreBench failed' }

    $script = @"
Import-Module '$module'
`$null = Get-RayRun -Id run000000   # loads what the first call loads, so the listing is timed alone
[GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
`$before = [GC]::GetTotalMemory(`$true)
`$clock = [Diagnostics.Stopwatch]::StartNew()
`$runs = Get-RayRun
`$list = `$clock.Elapsed.TotalMilliseconds
`$held = [GC]::GetTotalMemory(`$true) - `$before
if (@(`$runs).Count -ne $Runs) { throw "listed `$(@(`$runs).Count), expected $Runs" }
`$clock.Restart()
`$status = Get-RayRunStatus -Id run005000
`$statusMs = `$clock.Elapsed.TotalMilliseconds
`$clock.Restart()
`$folders = @(Get-ChildItem -LiteralPath '$store/runs' -Directory).Count
`$ls = `$clock.Elapsed.TotalMilliseconds
'BENCH ' + (@{ list = `$list; status = `$statusMs; bytesPerRun = `$held / $Runs; ls = `$ls } | ConvertTo-Json -Compress)
"@
    $list = @(); $status = @(); $bytes = @(); $ls = @()
    for ($i = 0; $i -lt $Repeat; $i++) {
        Write-Host "Listing: repeat $($i + 1) of $Repeat"
        $r = Invoke-BenchChild -Script $script -Environment @{ RAYRUNNER_HOME = $store }
        $list += $r.list; $status += $r.status; $bytes += $r.bytesPerRun; $ls += $r.ls
    }
    $anchor = Get-Median $ls
    New-BenchRow 'Get-ChildItem runs/' $ls 'ms' 'ls' $anchor
    New-BenchRow "Get-RayRun ($Runs)" $list 'ms' 'ls' $anchor '< 50 ms'
    New-BenchRow 'Get-RayRunStatus (one)' $status 'ms' 'ls' $anchor
    New-BenchRow 'memory per listed run' $bytes 'B'
}
finally { Remove-Item -LiteralPath $store -Recurse -Force -ErrorAction SilentlyContinue }
