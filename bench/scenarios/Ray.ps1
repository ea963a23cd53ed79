<#
    (c) The Ray backend against the dashboard stand-in (tests/RayStandIn: the Jobs REST API of
    shared/ray/jobs-rest-api.md on 127.0.0.1, no added latency; it runs each entrypoint with
    /bin/sh -c). 1,000 runs of 'true' submitted, tracked and collected by Invoke-RayExperiment in a
    new session. Reported per run: HTTP requests (counted by the stand-in), the client's CPU (the
    pwsh process, user + system, around Invoke-RayExperiment) and, as the anchor, the stand-in's own
    CPU for the same requests (a server doing the least the protocol allows).
#>
param([int] $Repeat = 3, [int] $Runs = 1000, [int] $MaxConcurrent = 64)
. (Join-Path (Split-Path -Parent $PSScriptRoot) 'BenchCommon.ps1')
. (Join-Path $script:RepoRoot 'tests/Pester/RayStandIn.Helpers.ps1')
$module = Get-BenchModulePath

# Which requests a run costs: method and path shape (the submission id replaced by {id}).
function Get-RequestKinds($StandIn) {
    $kinds = @{}
    foreach ($r in @((Get-RayStandInState $StandIn).dashboard.requests)) {
        $shape = $r.method + ' ' + ($r.path -replace '^/api/jobs/[^/]+', '/api/jobs/{id}' -replace '\{id\}/?$', '{id}')
        if ($r.path -eq '/api/jobs/') { $shape = $r.method + ' /api/jobs/' }
        $kinds[$shape] = 1 + $(if ($kinds.ContainsKey($shape)) { $kinds[$shape] } else { 0 })
    }
    $kinds
}

$req = @(); $cpu = @(); $server = @(); $wall = @(); $kindSamples = @{}
for ($i = 0; $i -lt $Repeat; $i++) {
    Write-Host "Ray: repeat $($i + 1) of $Repeat"
    $standIn = Start-RayStandIn -Arguments @('--slots', "$MaxConcurrent", '--cpus', "$MaxConcurrent")
    $home_ = New-BenchFolder -Name ray
    try {
        $script = @"
Import-Module '$module'
`$null = Connect-RayCluster -Backend Ray -Address '$($standIn.Address)' -MaxConcurrent $MaxConcurrent -NoAutoStart
`$configs = 1..$Runs | ForEach-Object { @{ i = `$_ } }
`$self = Get-Process -Id `$PID
`$cpu0 = `$self.TotalProcessorTime
`$clock = [Diagnostics.Stopwatch]::StartNew()
`$results = Invoke-RayExperiment -Config `$configs -Entrypoint 'true' -ProgressAction SilentlyContinue
`$seconds = `$clock.Elapsed.TotalSeconds
`$self.Refresh()
`$cpuMs = (`$self.TotalProcessorTime - `$cpu0).TotalMilliseconds
`$done = @(`$results | Where-Object Status -eq 'completed').Count
if (`$done -ne $Runs) { throw "only `$done of $Runs runs completed: `$((`$results | Where-Object Status -ne 'completed' | Select-Object -First 1).ErrorMessage)" }
'BENCH ' + (@{ seconds = `$seconds; cpuMs = `$cpuMs } | ConvertTo-Json -Compress)
"@
        $standInProcess = Get-Process -Id $standIn.Process.Id
        $before = @((Get-RayStandInState $standIn).dashboard.requests).Count
        $kinds0 = Get-RequestKinds $standIn
        $serverCpu0 = $standInProcess.TotalProcessorTime
        $r = Invoke-BenchChild -Script $script -Environment @{ RAYRUNNER_HOME = $home_ }
        $standInProcess.Refresh()
        $serverCpu = ($standInProcess.TotalProcessorTime - $serverCpu0).TotalMilliseconds
        $after = @((Get-RayStandInState $standIn).dashboard.requests).Count
        $kinds1 = Get-RequestKinds $standIn
        foreach ($k in $kinds1.Keys) {
            $n = $kinds1[$k] - $(if ($kinds0.ContainsKey($k)) { $kinds0[$k] } else { 0 })
            if (-not $kindSamples.ContainsKey($k)) { $kindSamples[$k] = @() }
            $kindSamples[$k] += $n / $Runs
        }
        # The session's requests include the connect (a few, once); per run they are amortized.
        $req += ($after - $before) / $Runs
        $cpu += $r.cpuMs / $Runs
        $server += $serverCpu / $Runs
        $wall += $r.seconds
    }
    finally {
        Stop-RayStandIn $standIn
        Remove-Item -LiteralPath $home_ -Recurse -Force -ErrorAction SilentlyContinue
    }
}
$anchor = Get-Median $server
New-BenchRow 'stand-in CPU per run' $server 'ms' 'stand-in' $anchor
New-BenchRow 'client CPU per run' $cpu 'ms' 'stand-in' $anchor '< 1 ms'
New-BenchRow 'HTTP requests per run' $req '' '' ([double]::NaN) '<= 3'
foreach ($k in ($kindSamples.Keys | Sort-Object)) { New-BenchRow "  $k per run" $kindSamples[$k] '' }
New-BenchRow "wall time, $Runs runs" $wall 's'
