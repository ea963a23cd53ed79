#Requires -Version 7.0
<#
    Runbooks that work (issue 11): what a runbook does across sessions, as a user would — each step
    in its own pwsh process, started in a different folder, some killed with kill -9 — over the
    staged module, the real local backend and one shared RAYRUNNER_HOME.
        Invoke-Pester ./tests/Pester/Runbooks.Tests.ps1 -Output Detailed
    Needs a built solution (dotnet build RayRunner.sln) and python3. Every wait is bounded.
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'ChildPwsh.ps1')
    . (Join-Path $PSScriptRoot 'RayStandIn.Helpers.ps1')
    $repoRoot = Get-RepoRoot
    $script:ModulePath = if ($env:RAYRUNNER_MODULE_PATH) { $env:RAYRUNNER_MODULE_PATH } else { Join-Path $repoRoot 'out/RayRunner/RayRunner.psd1' }
    $script:SavedHome = $env:RAYRUNNER_HOME
    $script:Python = (Get-Command python3, python -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source

    # Each scenario gets its own store; children inherit it through the environment.
    function script:New-Home([string] $Name) {
        $path = Join-Path $TestDrive $Name
        $null = New-Item -ItemType Directory -Path $path -Force
        $env:RAYRUNNER_HOME = $path
        $path
    }
    function script:New-Folder([string] $Name) { (New-Item -ItemType Directory -Path (Join-Path $TestDrive $Name) -Force).FullName }

    # Runs $Body in a new pwsh in $Folder with the module imported; returns what it wrote as JSON
    # (the last line of stdout) and its stderr.
    function script:Invoke-Session {
        param([Parameter(Mandatory)] [string] $Folder, [Parameter(Mandatory)] [string] $Body, [hashtable] $Environment = @{}, [int] $TimeoutSec = 120)
        $script = "`$ErrorActionPreference = 'Stop'`nImport-Module '$($script:ModulePath)'`n$Body"
        $r = Invoke-ChildPwshScript -Script $script -WorkingDirectory $Folder -Environment $Environment -TimeoutSec $TimeoutSec
        $last = ($r.Stdout -split "`n" | Where-Object { $_.Trim() } | Select-Object -Last 1)
        [pscustomobject]@{ ExitCode = $r.ExitCode; Out = $(if ($last) { try { $last | ConvertFrom-Json } catch { $null } }); Stdout = $r.Stdout; Stderr = $r.Stderr }
    }
}

AfterAll {
    $env:RAYRUNNER_HOME = $script:SavedHome
}

Describe 'Item 4: a damaged run.json stays visible and can be removed' {
    It 'is listed as damaged with a warning in a new session, is damaged to Get-RayRunStatus, and Remove-RayRun -Force removes it' {
        $null = New-Home 'home-damaged'
        $started = Invoke-Session -Folder (New-Folder 'damaged-a') -Body @"
`$null = Connect-RayCluster -Backend Local
`$r = 1..2 | ForEach-Object { @{ n = `$_ } } | Invoke-RayExperiment -Entrypoint "'$($script:Python)' -c 'print(1)'" -ProgressAction SilentlyContinue
`$r.RunId | ConvertTo-Json -Compress
"@
        $started.ExitCode | Should -Be 0 -Because $started.Stderr
        $victim, $survivor = $started.Out
        Set-Content -LiteralPath (Join-Path $env:RAYRUNNER_HOME "runs/$victim/run.json") -Value ('{"run_id": "' + $victim + '", "spec": {"config": [1,')

        $seen = Invoke-Session -Folder (New-Folder 'damaged-b') -Body @"
`$runs = Get-RayRun -WarningVariable warned -WarningAction SilentlyContinue
`$status = (Get-RayRunStatus -RunId $victim).Status
`$null = Connect-RayCluster -Backend Local
Remove-RayRun -RunId $victim -ErrorAction SilentlyContinue -ErrorVariable refused
Remove-RayRun -RunId $victim -Force
@{ Runs = @(`$runs | ForEach-Object { @{ Id = `$_.RunId; Status = `$_.Status } }); Warned = "`$warned"; Status = `$status;
   Refused = "`$(`$refused.FullyQualifiedErrorId)"; After = @((Get-RayRun).RunId) } | ConvertTo-Json -Compress -Depth 4
"@
        $seen.ExitCode | Should -Be 0 -Because $seen.Stderr
        ($seen.Out.Runs | Where-Object Id -EQ $victim).Status | Should -Be 'damaged'
        ($seen.Out.Runs | Where-Object Id -EQ $survivor).Status | Should -Be 'completed'
        $seen.Out.Warned | Should -Match $victim
        $seen.Out.Warned | Should -Match 'Remove-RayRun -Force'
        $seen.Out.Status | Should -Be 'damaged'
        $seen.Out.Refused | Should -BeLike 'RunNotFinished,*'
        $seen.Out.After | Should -Be @($survivor)
        Test-Path (Join-Path $env:RAYRUNNER_HOME "runs/$victim") | Should -BeFalse
    }
}

Describe 'Item 10: Remove-RayRun is safe to repeat' {
    It 'removing a run another session already removed is no error, even with -ErrorAction Stop' {
        $null = New-Home 'home-remove'
        $first = Invoke-Session -Folder (New-Folder 'remove-a') -Body @"
`$null = Connect-RayCluster -Backend Local
`$r = @{ n = 1 } | Invoke-RayExperiment -Entrypoint "'$($script:Python)' -c 'print(1)'" -ProgressAction SilentlyContinue
Remove-RayRun -RunId `$r.RunId
`$r.RunId | ConvertTo-Json -Compress
"@
        $first.ExitCode | Should -Be 0 -Because $first.Stderr
        $id = $first.Out

        $again = Invoke-Session -Folder (New-Folder 'remove-b') -Body @"
`$null = Connect-RayCluster -Backend Local
Remove-RayRun -RunId $id -ErrorAction Stop -Verbose 4>&1 | ForEach-Object { "`$_" } | Set-Variable said
@{ Errors = `$Error.Count; Said = "`$said" } | ConvertTo-Json -Compress
"@
        $again.ExitCode | Should -Be 0 -Because $again.Stderr
        $again.Out.Errors | Should -Be 0
        $again.Out.Said | Should -Match 'nothing to remove'
    }
}

Describe 'Item 5: an unreachable -Address with -NoAutoStart' {
    It 'is ConnectFailed (ConnectionError), not RayNotInstalled, even with no ray command anywhere' {
        $null = New-Home 'home-connect'
        $port = Get-FreeTcpPort
        $empty = New-Folder 'no-ray-on-path'
        $r = Invoke-Session -Folder (New-Folder 'connect-a') -Environment @{ PATH = $empty } -Body @"
try { Connect-RayCluster -Backend Ray -Address http://127.0.0.1:$port -NoAutoStart; @{ Id = 'none' } | ConvertTo-Json -Compress }
catch { @{ Id = `$_.FullyQualifiedErrorId; Category = "`$(`$_.CategoryInfo.Category)"; Message = "`$_" } | ConvertTo-Json -Compress }
"@
        $r.Out.Id | Should -BeLike 'ConnectFailed,*' -Because $r.Stderr
        $r.Out.Category | Should -Be 'ConnectionError'
        $r.Out.Message | Should -Match "127\.0\.0\.1:$port"
        $r.Out.Message | Should -Not -Match 'pip'
    }
}

Describe 'Item 1: the working directory is recorded, so a run recovered from elsewhere after kill -9 still finds its script' {
    It 'runs every config of a sweep whose session was killed, from a session in another folder' {
        $null = New-Home 'home-wd'
        $project = New-Folder 'project'
        Set-Content -LiteralPath (Join-Path $project 'train.py') -Value @'
import json, os, time
config = json.loads(os.environ["RAYRUNNER_TASK_INPUT"])["config"]
time.sleep(float(config.get("sleep", 0)))
print("RAYRUNNER_RESULT " + json.dumps({"metrics": {"n": config["n"]}}), flush=True)
'@
        $marker = Join-Path $TestDrive 'wd-started'
        $script = Join-Path $TestDrive 'wd-a.ps1'
        Set-Content -LiteralPath $script -Value @"
Import-Module '$($script:ModulePath)'
Set-Location '$project'
`$null = Connect-RayCluster -Backend Local -MaxConcurrent 1
`$null = 1..4 | ForEach-Object { @{ n = `$_; sleep = 1 } } | Start-RayExperiment -Entrypoint "'$($script:Python)' train.py" -SweepId wd-sweep
Set-Content -LiteralPath '$marker' -Value 'started'
Start-Sleep -Seconds 300
"@
        $cmd = Get-ChildPwshCommand
        # Started from the test drive, not the project: only Set-Location puts the session there.
        $a = Start-Process -FilePath $cmd[0] -ArgumentList (@($cmd | Select-Object -Skip 1) + '-NoProfile', '-NonInteractive', '-File', $script) `
            -WorkingDirectory $TestDrive -PassThru -RedirectStandardOutput (Join-Path $TestDrive 'wd-a.out') -RedirectStandardError (Join-Path $TestDrive 'wd-a.err')
        try {
            Wait-Until -TimeoutSec 90 -Because 'the first session to start its sweep' -Condition { Test-Path $marker }
        }
        finally {
            Stop-Process -Id $a.Id -Force -ErrorAction SilentlyContinue   # kill -9
        }

        $b = Invoke-Session -Folder (New-Folder 'elsewhere') -TimeoutSec 180 -Body @"
`$results = Get-RayRun -SweepId wd-sweep | Wait-RayRun -Timeout 120 -ProgressAction SilentlyContinue | Receive-RayRun
`$recorded = Get-ChildItem (Join-Path `$env:RAYRUNNER_HOME runs) -Filter run.json -Recurse | ForEach-Object { (Get-Content `$_.FullName -Raw | ConvertFrom-Json).spec.working_directory }
@{ Status = @(`$results.Status); Dirs = @(`$recorded | Select-Object -Unique); Errors = @(`$results.ErrorMessage) } | ConvertTo-Json -Compress
"@
        $b.ExitCode | Should -Be 0 -Because $b.Stderr
        $b.Out.Status.Count | Should -Be 4 -Because "$($b.Out.Errors)"
        $b.Out.Status | Select-Object -Unique | Should -Be 'completed' -Because "$($b.Out.Errors)"
        $b.Out.Dirs | Should -Be @($project)
    }
}

Describe 'Item 9: Resume-RaySweep reports an unknown sweep and re-runs failed runs from the store' {
    It 'is SweepNotFound for a sweep nobody recorded, and -Rerun failed starts only the failed config again, without the config list' {
        $null = New-Home 'home-rerun'
        $project = New-Folder 'rerun-project'
        $flag = Join-Path $TestDrive 'rerun-fixed'
        Set-Content -LiteralPath (Join-Path $project 'flaky.py') -Value @"
import json, os, sys
config = json.loads(os.environ["RAYRUNNER_TASK_INPUT"])["config"]
if config["n"] == 2 and not os.path.exists(r"$flag"):
    sys.exit("n=2 fails until the flag file exists")
print("RAYRUNNER_RESULT " + json.dumps({"metrics": {"n": config["n"]}}), flush=True)
"@
        $first = Invoke-Session -Folder $project -Body @"
`$null = Connect-RayCluster -Backend Local
`$r = 1..3 | ForEach-Object { @{ n = `$_ } } | Invoke-RayExperiment -Entrypoint "'$($script:Python)' flaky.py" -SweepId rr -ProgressAction SilentlyContinue
@(`$r.Status) | ConvertTo-Json -Compress
"@
        $first.ExitCode | Should -Be 0 -Because $first.Stderr
        ($first.Out | Sort-Object) | Should -Be @('completed', 'completed', 'failed')
        Set-Content -LiteralPath $flag -Value 'fixed'

        $b = Invoke-Session -Folder (New-Folder 'rerun-elsewhere') -TimeoutSec 180 -Body @"
Resume-RaySweep -SweepId nosuch -ErrorAction SilentlyContinue -ErrorVariable unknown
`$again = Resume-RaySweep -SweepId rr -Rerun failed
`$results = `$again | Wait-RayRun -Timeout 120 -ProgressAction SilentlyContinue | Receive-RayRun
`$twice = Resume-RaySweep -SweepId rr -Rerun failed
@{ Unknown = "`$(`$unknown.FullyQualifiedErrorId)"; UnknownCategory = "`$(`$unknown.CategoryInfo.Category)"; Again = @(`$again.Config.n); Results = @(`$results.Status);
   Twice = @(`$twice).Count; Sweep = @((Get-RayRun -SweepId rr).Status | Sort-Object) } | ConvertTo-Json -Compress
"@
        $b.ExitCode | Should -Be 0 -Because $b.Stderr
        $b.Out.Unknown | Should -BeLike 'SweepNotFound,*'
        $b.Out.UnknownCategory | Should -Be 'ObjectNotFound'
        $b.Out.Again | Should -Be @(2)
        $b.Out.Results | Should -Be @('completed')
        $b.Out.Twice | Should -Be 0 -Because 'the config now completed, so a second -Rerun starts nothing'
        $b.Out.Sweep | Should -Be @('completed', 'completed', 'completed', 'failed') -Because 'the failed run and its result stay'
    }
}

Describe 'Item 3: statuses refresh without connecting' {
    It 'shows how local runs ended after their session was killed, in Get-RayRun -Status and Get-RayRunStatus, with no connection' {
        $null = New-Home 'home-refresh'
        $marker = Join-Path $TestDrive 'refresh-started'
        $script = Join-Path $TestDrive 'refresh-a.ps1'
        $exiter = Join-Path $TestDrive 'exiter.py'
        Set-Content -LiteralPath $exiter -Value @'
import json, os, sys, time
deadline = time.time() + 120
while not os.path.exists(sys.argv[1]) and time.time() < deadline:
    time.sleep(0.05)
sys.exit(json.loads(os.environ["RAYRUNNER_TASK_INPUT"])["config"]["code"])
'@
        # Two runs that end once the gate file appears, one well and one badly; the session is killed
        # first (a gate, not a sleep, so a slow kill under load cannot let the session see the ends),
        # so nobody records how they ended.
        $gate = Join-Path $TestDrive 'refresh-gate'
        Set-Content -LiteralPath $script -Value @"
Import-Module '$($script:ModulePath)'
`$null = Connect-RayCluster -Backend Local
`$runs = @{ code = 0 }, @{ code = 3 } | Start-RayExperiment -Entrypoint "'$($script:Python)' '$exiter' '$gate'" -SweepId refresh
`$runs.RunId -join ',' | Set-Content -LiteralPath '$marker'
Start-Sleep -Seconds 300
"@
        $cmd = Get-ChildPwshCommand
        $a = Start-Process -FilePath $cmd[0] -ArgumentList (@($cmd | Select-Object -Skip 1) + '-NoProfile', '-NonInteractive', '-File', $script) `
            -WorkingDirectory $TestDrive -PassThru -RedirectStandardOutput (Join-Path $TestDrive 'refresh-a.out') -RedirectStandardError (Join-Path $TestDrive 'refresh-a.err')
        try { Wait-Until -TimeoutSec 90 -Because 'the first session to start its runs' -Condition { (Test-Path $marker) -and (Get-Content $marker) } }
        finally { Stop-Process -Id $a.Id -Force -ErrorAction SilentlyContinue }   # kill -9
        $good, $bad = (Get-Content $marker) -split ','
        # The records still say what the killed session last wrote.
        (Get-Content (Join-Path $env:RAYRUNNER_HOME "runs/$good/run.json") -Raw | ConvertFrom-Json).result | Should -BeNullOrEmpty
        Set-Content -LiteralPath $gate -Value go
        Wait-Until -TimeoutSec 60 -Because 'both runs to end after the gate opened' -Condition {
            (Test-Path (Join-Path $env:RAYRUNNER_HOME "runs/$good/output.exit")) -and (Test-Path (Join-Path $env:RAYRUNNER_HOME "runs/$bad/output.exit")) }

        $b = Invoke-Session -Folder (New-Folder 'refresh-b') -Body @"
`$failed = @(Get-RayRun -Status failed).RunId
`$statuses = Get-RayRunStatus -RunId $good, $bad
@{ Failed = `$failed; Good = (`$statuses | Where-Object RunId -EQ '$good').Status; Bad = (`$statuses | Where-Object RunId -EQ '$bad').Status;
   Connected = [bool](Get-RayCluster -ErrorAction SilentlyContinue) } | ConvertTo-Json -Compress
"@
        $b.ExitCode | Should -Be 0 -Because $b.Stderr
        $b.Out.Good | Should -Be 'completed'
        $b.Out.Bad | Should -Be 'failed'
        $b.Out.Failed | Should -Be @($bad)
        $b.Out.Connected | Should -BeFalse
    }
}

Describe 'Item 8: a read-only RAYRUNNER_HOME can be listed' {
    It 'lists runs and their statuses from a session without changing, locking or chmod-ing the store' -Skip:$IsWindows {
        $homeDir = New-Home 'home-readonly'
        $first = Invoke-Session -Folder (New-Folder 'readonly-a') -Body @"
`$null = Connect-RayCluster -Backend Local
(@{ n = 1 } | Invoke-RayExperiment -Entrypoint "'$($script:Python)' -c 'print(1)'" -ProgressAction SilentlyContinue).RunId | ConvertTo-Json -Compress
"@
        $first.ExitCode | Should -Be 0 -Because $first.Stderr
        Remove-Item (Join-Path $homeDir 'store.lock'), (Join-Path $homeDir 'index.jsonl') -ErrorAction SilentlyContinue
        # 0555, as a store on read-only media or shared read-only by its owner. (Root ignores modes,
        # so what shows the promise is that nothing is created or chmod-ed.)
        foreach ($d in $homeDir, (Join-Path $homeDir 'runs')) { [IO.File]::SetUnixFileMode($d, [IO.UnixFileMode]0x16D) }
        $before = Get-ChildItem -LiteralPath $homeDir -Force -Recurse | ForEach-Object FullName | Sort-Object
        try {
            $b = Invoke-Session -Folder (New-Folder 'readonly-b') -Body @"
@{ Runs = @((Get-RayRun).RunId); Status = (Get-RayRunStatus -RunId $($first.Out)).Status } | ConvertTo-Json -Compress
"@
            $after = Get-ChildItem -LiteralPath $homeDir -Force -Recurse | ForEach-Object FullName | Sort-Object
            $mode = [int][IO.File]::GetUnixFileMode($homeDir)
        }
        finally {
            foreach ($d in $homeDir, (Join-Path $homeDir 'runs')) { [IO.File]::SetUnixFileMode($d, [IO.UnixFileMode]0x1C0) }
        }
        $b.ExitCode | Should -Be 0 -Because $b.Stderr
        $b.Out.Runs | Should -Be @($first.Out)
        $b.Out.Status | Should -Be 'completed'
        $after | Should -Be $before
        $mode | Should -Be 0x16D
    }
}

Describe 'Item 6: a Ray head that dies mid-wait is a warning within seconds, never a silent wait' {
    It 'warns in Wait-RayRun within seconds of the head stopping' {
        $null = New-Home 'home-lost-head'
        $standIn = Start-RayStandIn
        $marker = Join-Path $TestDrive 'lost-head-started'
        $ep = "sh '$(Join-Path (Get-RepoRoot) 'tests/fixtures/ray/fake_experiment.sh')' {overrides}"
        $script = Join-Path $TestDrive 'lost-head.ps1'
        Set-Content -LiteralPath $script -Value @"
Import-Module '$($script:ModulePath)'
`$null = Connect-RayCluster -Backend Ray -Address '$($standIn.Address)' -NoAutoStart -ErrorAction Stop
`$run = @{ value = 1; sleep = 60 } | Start-RayExperiment -Entrypoint "$ep"
Set-Content -LiteralPath '$marker' -Value 'started'
`$clock = [Diagnostics.Stopwatch]::StartNew()
`$warned = `$null
`$null = Wait-RayRun -RunId `$run.RunId -Timeout 25 -ProgressAction SilentlyContinue -WarningVariable warned -WarningAction SilentlyContinue
@{ Warned = @(`$warned | ForEach-Object { "`$_" }); Seconds = `$clock.Elapsed.TotalSeconds } | ConvertTo-Json -Compress
"@
        $cmd = Get-ChildPwshCommand
        $out = Join-Path $TestDrive 'lost-head.out'
        $a = Start-Process -FilePath $cmd[0] -ArgumentList (@($cmd | Select-Object -Skip 1) + '-NoProfile', '-NonInteractive', '-File', $script) `
            -WorkingDirectory $TestDrive -PassThru -RedirectStandardOutput $out -RedirectStandardError (Join-Path $TestDrive 'lost-head.err')
        try {
            Wait-Until -TimeoutSec 90 -Because 'the session to start its run' -Condition { Test-Path $marker }
            Start-Sleep -Seconds 1
            $standIn.Process.Kill($true)   # the head dies mid-wait (kill -9, its jobs with it)
            $null = $standIn.Process.WaitForExit(10000)
            if (-not $a.WaitForExit(90000)) { throw 'The waiting session did not end within 90 s.' }
        }
        finally {
            Stop-Process -Id $a.Id -Force -ErrorAction SilentlyContinue
            Stop-RayStandIn $standIn
        }
        $result = (Get-Content $out | Where-Object { $_.Trim() } | Select-Object -Last 1) | ConvertFrom-Json
        $result.Warned | Should -Not -BeNullOrEmpty -Because (Get-Content (Join-Path $TestDrive 'lost-head.err') -Raw)
        $result.Warned[0] | Should -Match 'has not answered'
        $result.Warned[0] | Should -Match ([regex]::Escape($standIn.Address.TrimEnd('/')))
        # Said within seconds, not after the poller's grace period (5 min) or the wait's timeout.
        $result.Warned[0] -match 'for (\d+) s' | Should -BeTrue
        [int]$Matches[1] | Should -BeLessThan 15
    }
}

Describe 'Item 2: any session reads a stored local run''s log without connecting' {
    It 'reads the logs of runs another session started, each line carrying its RunId, and -Tail' {
        $null = New-Home 'home-logs'
        $talker = Join-Path $TestDrive 'talker.py'
        Set-Content -LiteralPath $talker -Value @'
import os
print("first")
print("hello " + os.environ["RAYRUNNER_TASK_INPUT"][:40])
'@
        $first = Invoke-Session -Folder (New-Folder 'logs-a') -Body @"
`$null = Connect-RayCluster -Backend Local
`$r = 1..2 | ForEach-Object { @{ n = `$_ } } | Invoke-RayExperiment -Entrypoint "'$($script:Python)' '$talker'" -ProgressAction SilentlyContinue
@(`$r.RunId) | ConvertTo-Json -Compress
"@
        $first.ExitCode | Should -Be 0 -Because $first.Stderr
        $one, $two = $first.Out

        $b = Invoke-Session -Folder (New-Folder 'logs-b') -Body @"
`$lines = Get-RayRunLog -RunId $one, $two
`$tail = Get-RayRunLog -RunId $one -Tail 1
@{ Lines = @(`$lines | ForEach-Object { @{ RunId = `$_.RunId; Text = "`$_" } }); Tail = @(`$tail | ForEach-Object { "`$_" });
   Connected = [bool](Get-RayCluster -ErrorAction SilentlyContinue) } | ConvertTo-Json -Compress -Depth 4
"@
        $b.ExitCode | Should -Be 0 -Because $b.Stderr
        $b.Out.Connected | Should -BeFalse
        ($b.Out.Lines | Where-Object RunId -EQ $one).Text | Should -Contain 'first'
        ($b.Out.Lines | Where-Object RunId -EQ $two).Text | Should -Contain 'first'
        @($b.Out.Lines | Where-Object { $_.Text -like 'hello*' }).Count | Should -Be 2
        $b.Out.Tail.Count | Should -Be 1
        $b.Out.Tail[0] | Should -BeLike 'hello*'
    }
}
