<#
    (a) 1,000 no-op runs (/bin/true) at 2 slots: RayRunner's local backend (Invoke-RayExperiment in a
    new session, store on disk) against xargs -P 2, ForEach-Object -Parallel -ThrottleLimit 2 and
    Start-ThreadJob -ThrottleLimit 2, all in the same run. Times exclude starting pwsh and
    Import-Module (scenario Import measures that), and include everything after.
#>
param([int] $Repeat = 3, [int] $Runs = 1000, [int] $Slots = 2, [int] $ThreadJobRepeat = 1)
. (Join-Path (Split-Path -Parent $PSScriptRoot) 'BenchCommon.ps1')
$module = Get-BenchModulePath

$rayRunnerScript = $script:CpuProbe + @"
Import-Module '$module'
`$null = Connect-RayCluster -Backend Local -MaxConcurrent $Slots
`$configs = 1..$Runs | ForEach-Object { @{ i = `$_ } }
`$cpu0 = Get-SessionCpuMs
`$clock = [Diagnostics.Stopwatch]::StartNew()
`$results = Invoke-RayExperiment -Config `$configs -Entrypoint '/bin/true' -ProgressAction SilentlyContinue
`$seconds = `$clock.Elapsed.TotalSeconds
`$cpuMs = (Get-SessionCpuMs) - `$cpu0
`$done = @(`$results | Where-Object Status -eq 'completed').Count
if (`$done -ne $Runs) { throw "only `$done of $Runs runs completed" }
'BENCH ' + (@{ seconds = `$seconds; cpuMs = `$cpuMs } | ConvertTo-Json -Compress)
"@
$parallelScript = $script:CpuProbe + @"
`$cpu0 = Get-SessionCpuMs
`$clock = [Diagnostics.Stopwatch]::StartNew()
1..$Runs | ForEach-Object -Parallel { /bin/true } -ThrottleLimit $Slots
'BENCH ' + (@{ seconds = `$clock.Elapsed.TotalSeconds; cpuMs = (Get-SessionCpuMs) - `$cpu0 } | ConvertTo-Json -Compress)
"@
$threadJobScript = $script:CpuProbe + @"
Import-Module ThreadJob -ErrorAction SilentlyContinue
`$cpu0 = Get-SessionCpuMs
`$clock = [Diagnostics.Stopwatch]::StartNew()
`$jobs = 1..$Runs | ForEach-Object { Start-ThreadJob { /bin/true } -ThrottleLimit $Slots }
`$null = `$jobs | Wait-Job | Receive-Job
'BENCH ' + (@{ seconds = `$clock.Elapsed.TotalSeconds; cpuMs = (Get-SessionCpuMs) - `$cpu0 } | ConvertTo-Json -Compress)
"@

$xargs = @(); $rr = @(); $par = @(); $tj = @()
$xargsCpu = @(); $rrCpu = @(); $parCpu = @(); $tjCpu = @()
# Stores are removed after the last repeat, not between repeats: on ext4 without a journal (this
# machine's disk) an inode freed in the last 5 s is skipped, one by one, by every new file's
# allocation, so deleting 7,000 files just before a repeat made that repeat's own file creations
# cost more (issue 14 profile: ext4 recently_deleted in the host's kernel time).
$stores = @()
try {
    for ($i = 0; $i -lt $Repeat; $i++) {
        Write-Host "NoOp: repeat $($i + 1) of $Repeat"
        $home_ = New-BenchFolder -Name noop
        $stores += $home_
        $x = Measure-Shell "seq $Runs | xargs -P $Slots -n 1 /bin/true"
        $xargs += $x.Seconds; $xargsCpu += $x.CpuMs / $Runs
        $r = Invoke-BenchChild -Script $rayRunnerScript -Environment @{ RAYRUNNER_HOME = $home_ }
        $rr += $r.seconds; $rrCpu += $r.cpuMs / $Runs
        $p = Invoke-BenchChild -Script $parallelScript
        $par += $p.seconds; $parCpu += $p.cpuMs / $Runs
        if ($i -lt $ThreadJobRepeat) {
            $t = Invoke-BenchChild -Script $threadJobScript
            $tj += $t.seconds; $tjCpu += $t.cpuMs / $Runs
        }
    }
}
finally { foreach ($s in $stores) { Remove-Item -LiteralPath $s -Recurse -Force -ErrorAction SilentlyContinue } }
$x = Get-Median $xargs
New-BenchRow "xargs -P $Slots" $xargs 's' 'xargs' $x
New-BenchRow 'RayRunner local' $rr 's' 'xargs' $x '<= 1.5x xargs'
New-BenchRow 'ForEach -Parallel' $par 's' 'xargs' $x
if ($tj.Count) { New-BenchRow 'Start-ThreadJob' $tj 's' 'xargs' $x }
New-BenchRow 'RayRunner / -Parallel' @($rr | ForEach-Object { $_ / (Get-Median $par) }) 'x' '' ([double]::NaN) '< 1 (faster)'
# CPU per run (the session's own plus every process it reaped): what load cannot blur.
$xc = Get-Median $xargsCpu
New-BenchRow 'CPU/run xargs' $xargsCpu 'ms' 'xargs' $xc
New-BenchRow 'CPU/run RayRunner' $rrCpu 'ms' 'xargs' $xc
New-BenchRow 'CPU/run -Parallel' $parCpu 'ms' 'xargs' $xc
if ($tjCpu.Count) { New-BenchRow 'CPU/run ThreadJob' $tjCpu 'ms' 'xargs' $xc }
