#Requires -Version 7.0
<#
    The Ray backend driven through the cmdlets, as a user would, against the Ray stand-in program
    (tests/RayStandIn: the xUnit dashboard stand-in, which follows shared/ray/jobs-rest-api.md and
    really runs each job's entrypoint, and the stand-in `ray` CLI of tests/fixtures/ray). Needs a
    built solution (dotnet build RayRunner.sln builds the module and the stand-in); builds nothing.
        Invoke-Pester ./tests/Pester/Ray.Tests.ps1 -Output Detailed
    Counts are read from the stand-in (jobs created per id, requests, the most jobs running at
    once), never from RayRunner's own scheduler. Every wait is bounded.
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'ChildPwsh.ps1')
    . (Join-Path $PSScriptRoot 'RayStandIn.Helpers.ps1')
    $repoRoot = Get-RepoRoot
    $script:ModulePath = if ($env:RAYRUNNER_MODULE_PATH) { $env:RAYRUNNER_MODULE_PATH } else { Join-Path $repoRoot 'out/RayRunner/RayRunner.psd1' }
    # Nothing from the machine decides where RayRunner connects or which token it sends.
    $script:SavedEnv = @{}
    foreach ($name in 'RAYRUNNER_HOME', 'RAY_ADDRESS', 'RAY_API_SERVER_ADDRESS', 'RAY_AUTH_TOKEN', 'RAY_AUTH_TOKEN_PATH',
        'PATH', 'RAY_STANDIN_CONTROL', 'RAY_STANDIN_ARGV_LOG') {
        $script:SavedEnv[$name] = [Environment]::GetEnvironmentVariable($name)
        if ($name -like 'RAY_*') { [Environment]::SetEnvironmentVariable($name, $null) }
    }
    $env:RAYRUNNER_HOME = Join-Path $TestDrive 'rayrunner-home'
    Import-Module $script:ModulePath -Force -ErrorAction Stop

    $script:FixtureDir = Join-Path $repoRoot 'tests/fixtures/ray'
    # The experiment: prints its run id, reports value=N as a metric, sleeps sleep=S first.
    $script:Ep = "sh '$(Join-Path $script:FixtureDir 'fake_experiment.sh')' {overrides}"
    $script:StandIn = Start-RayStandIn

    function script:Connect-StandIn {
        param([string] $Address = $script:StandIn.Address, [int] $MaxConcurrent = 4)
        Disconnect-RayCluster -Confirm:$false
        $null = Connect-RayCluster -Backend Ray -Address $Address -MaxConcurrent $MaxConcurrent -NoAutoStart -ErrorAction Stop
    }
    function script:Get-JobOf($State, [string] $RunId) { $State.dashboard.jobs | Where-Object submissionId -EQ $RunId }
}

AfterAll {
    Disconnect-RayCluster -Confirm:$false -ErrorAction SilentlyContinue
    Stop-RayStandIn $script:StandIn
    foreach ($kv in $script:SavedEnv.GetEnumerator()) { [Environment]::SetEnvironmentVariable($kv.Key, $kv.Value) }
}

Describe 'A sweep on Ray beyond -MaxConcurrent' {
    BeforeAll { $script:Roomy = Start-RayStandIn -Arguments '--slots', '64', '--cpus', '64' }
    AfterAll {
        Disconnect-RayCluster -Confirm:$false
        Stop-RayStandIn $script:Roomy
    }

    It 'holds the runs beyond the cap as queued in RayRunner; the cluster never runs more than the cap' {
        Connect-StandIn -Address $script:Roomy.Address -MaxConcurrent 2
        # The first two (dispatched first, FIFO) run 4 s, so the checks right after the call have time
        # to look even on a loaded machine; the other four are short.
        $configs = 1..6 | ForEach-Object { @{ value = $_; sleep = $(if ($_ -le 2) { 4 } else { 0.5 }) } }
        $runs = $configs | Start-RayExperiment -Entrypoint $script:Ep -SweepId cap-sweep
        $runs.Count | Should -Be 6
        # Right after the call returns: two jobs on the cluster, four held back, although it has room for 64.
        @((Get-RayStandInState $script:Roomy).dashboard.jobsCreated.PSObject.Properties).Count | Should -BeLessOrEqual 2
        @($runs | Get-RayRunStatus | Where-Object Status -EQ 'queued').Count | Should -BeGreaterOrEqual 4

        $finished = $runs | Wait-RayRun -Timeout 90
        @($finished).Count | Should -Be 6
        $results = $runs | Receive-RayRun
        $results | Where-Object Status -NE 'completed' | Should -BeNullOrEmpty
        $results | ForEach-Object { $_.Metrics['value'] } | Sort-Object | Should -Be (1..6)

        $state = Get-RayStandInState $script:Roomy
        $state.dashboard.maxRunning | Should -Be 2 -Because 'the cap is used in full and never exceeded'
        foreach ($r in $runs) { $state.dashboard.jobsCreated.($r.RunId) | Should -Be 1 }
    }
}

Describe 'Logs and stopping a run on Ray' {
    BeforeEach { Connect-StandIn }

    It 'reads a finished run''s log, whole and with -Tail' {
        $r = Invoke-RayExperiment -Config @{ value = 7 } -Entrypoint $script:Ep
        $r.Status | Should -Be 'completed'
        $r.Metrics['value'] | Should -Be 7
        $log = @(Get-RayRunLog -RunId $r.RunId)
        ($log -join "`n") | Should -Match "run $($r.RunId) starting"
        ($log -join "`n") | Should -Match 'RAYRUNNER_RESULT'
        $lines = ($log -join "`n") -split "`r?`n" | Where-Object { $_ }
        $tail = @(Get-RayRunLog -RunId $r.RunId -Tail 2) -join "`n" -split "`r?`n" | Where-Object { $_ }
        $tail | Should -Be ($lines | Select-Object -Last 2)
    }

    It 'Stop-RayRun -WhatIf stops nothing; a real stop cancels the Ray job, and repeating it is harmless' {
        $run = Start-RayExperiment -Config @{ sleep = 60 } -Entrypoint $script:Ep
        Wait-Until { (Get-JobOf (Get-RayStandInState $script:StandIn) $run.RunId).status -eq 'RUNNING' } -Because 'the job to run'
        $stopPath = "/api/jobs/$($run.RunId)/stop"

        $run | Stop-RayRun -WhatIf
        $state = Get-RayStandInState $script:StandIn
        @($state.dashboard.requests | Where-Object { $_.method -eq 'POST' -and $_.path -eq $stopPath }).Count | Should -Be 0
        (Get-JobOf $state $run.RunId).status | Should -Be 'RUNNING'
        (Get-RayRunStatus -RunId $run.RunId).Status | Should -BeIn 'pending', 'running'

        $run | Stop-RayRun -Confirm:$false
        $null = $run | Wait-RayRun -Timeout 30
        (Get-RayRunStatus -RunId $run.RunId).Status | Should -Be 'cancelled'
        # Ray stops a job asynchronously (SIGTERM, then SIGKILL after a grace): the run is cancelled
        # once the stop is accepted, and the job turns STOPPED when its process has exited. Then
        # RayRunner deletes it from the head (only an ended job can be deleted), so gone is ended too.
        Wait-Until { $job = Get-JobOf (Get-RayStandInState $script:StandIn) $run.RunId; -not $job -or $job.status -eq 'STOPPED' } -Because 'the stopped job to end'
        { $run | Stop-RayRun -Confirm:$false -ErrorAction Stop } | Should -Not -Throw
    }
}

Describe 'Injected faults on the Jobs API' {
    BeforeAll {
        # A fifth of job requests fail at random (500, dropped connection, a submit whose answer is
        # lost after the job was made), and the first submits fail for sure, one of each kind.
        $script:Faulty = Start-RayStandIn -Arguments '--fault-rate', '0.2', '--fault-seed', '5',
            '--fault-once', 'LoseResponse@POST:/api/jobs/', '--fault-once', 'ServerError@POST:/api/jobs/',
            '--fault-once', 'Drop@POST:/api/jobs/', '--fault-once', 'Drop@GET:/api/jobs/*'
    }
    AfterAll {
        Disconnect-RayCluster -Confirm:$false
        Stop-RayStandIn $script:Faulty
    }

    It 'completes every run exactly once: one Ray job per run id' {
        Connect-StandIn -Address $script:Faulty.Address -MaxConcurrent 3
        $runs = 1..8 | ForEach-Object { @{ value = $_ } } | Start-RayExperiment -Entrypoint $script:Ep -SweepId faulty
        $runs.Count | Should -Be 8
        $null = $runs | Wait-RayRun -Timeout 120
        $results = $runs | Receive-RayRun
        $results | Where-Object Status -NE 'completed' | Should -BeNullOrEmpty
        $results | ForEach-Object { $_.Metrics['value'] } | Sort-Object | Should -Be (1..8)
        (Get-RayRun -SweepId faulty).Status | Sort-Object -Unique | Should -Be 'completed'

        $state = Get-RayStandInState $script:Faulty
        foreach ($r in $runs) { $state.dashboard.jobsCreated.($r.RunId) | Should -Be 1 -Because "run $($r.RunId) must be one Ray job" }
        @($state.dashboard.jobsCreated.PSObject.Properties).Count | Should -Be 8
        # After a lost answer RayRunner asks by id before sending again: no submit hits an existing job.
        @($state.dashboard.duplicateSubmits.PSObject.Properties).Count | Should -Be 0
        foreach ($kind in 'ServerError', 'Drop', 'LoseResponse') {
            $state.dashboard.faultsInjected.$kind | Should -BeGreaterThan 0 -Because "$kind faults must really have happened"
        }
    }
}

Describe 'A Ray token' {
    BeforeAll {
        $script:Token = 'tok-' + [guid]::NewGuid().ToString('N')
        # --echo-auth-in-errors: the 403 body repeats a wrong token, as a misbehaving proxy might.
        $script:Guarded = Start-RayStandIn -Arguments '--token', $script:Token, '--echo-auth-in-errors'
    }
    AfterAll {
        Disconnect-RayCluster -Confirm:$false
        Stop-RayStandIn $script:Guarded
    }

    It 'is sent, and never printed on any stream, in errors or in the run store' {
        $Error.Clear()
        $secure = ConvertTo-SecureString $script:Token -AsPlainText -Force
        $everything = & {
            $VerbosePreference = 'Continue'
            $DebugPreference = 'Continue'
            $InformationPreference = 'Continue'
            Disconnect-RayCluster -Confirm:$false
            Connect-RayCluster -Backend Ray -Address $script:Guarded.Address -Token $secure -NoAutoStart -MaxConcurrent 2 | Format-List *
            $runs = 1..3 | ForEach-Object { @{ value = $_ } } | Start-RayExperiment -Entrypoint $script:Ep -SweepId tok
            $runs | Wait-RayRun -Timeout 60 | Format-List *
            $runs | Receive-RayRun | Format-List *
            $runs | Get-RayRunLog
            $runs | Get-RayRunLog -Tail 3
            Get-RayCluster | Format-List *
            Get-RayRun -SweepId tok | Format-List *
            $runs[0] | Stop-RayRun -WhatIf
            Get-RayRunStatus -RunId 'not-a-run'
            Disconnect-RayCluster -Confirm:$false
        } *>&1 | Out-String -Width 500
        $everything | Should -Match 'completed' -Because 'the flow must really have run'
        @(Get-RayRun -SweepId tok | Where-Object Status -EQ 'completed').Count | Should -Be 3

        $wrong = 'wrong-' + [guid]::NewGuid().ToString('N')
        $failure = $null
        try { Connect-RayCluster -Backend Ray -Address $script:Guarded.Address -Token $wrong -NoAutoStart -Verbose -ErrorAction Stop 4>&1 | Out-String } catch { $failure = $_ }
        $failure | Should -Not -BeNullOrEmpty -Because 'a wrong token is refused (403)'
        $failureText = ($failure | Format-List * -Force | Out-String -Width 500) + $failure.Exception.ToString() + $failure.ErrorDetails

        $storeText = Get-ChildItem $env:RAYRUNNER_HOME -Recurse -File -Force | ForEach-Object { [IO.File]::ReadAllText($_.FullName) } | Out-String
        $storeText | Should -Match 'tok' -Because 'the store holds the runs (sweep id tok)'
        foreach ($text in $everything, $failureText, ($Error | Format-List * -Force | Out-String -Width 500), $storeText) {
            $text | Should -Not -Match $script:Token
            $text | Should -Not -Match $wrong
        }

        $state = Get-RayStandInState $script:Guarded
        @($state.dashboard.requests | Where-Object { -not $_.authorization -and $_.path -like '/api/jobs*' }).Count | Should -Be 0
        @($state.dashboard.requests | Where-Object authorization).Count | Should -BeGreaterThan 0
        $state.dashboard.jobs | Where-Object carriesToken | Should -BeNullOrEmpty -Because 'no job (entrypoint, env_vars, metadata) carries the token'
    }
}

Describe 'Runs that outlive the session, on Ray' {
    It 'a sweep started in one pwsh is collected by another from another folder, each run one Ray job' {
        $childEnv = @{
            RAYRUNNER_HOME      = $env:RAYRUNNER_HOME
            RR_MODULE           = $script:ModulePath
            RR_ADDRESS          = $script:StandIn.Address
            RR_EP               = $script:Ep
        }
        $starter = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'starter') -Force
        $collector = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'collector') -Force
        # Session A: four runs, one at a time; it exits at once, leaving three queued in the store.
        $a = Invoke-ChildPwshScript -WorkingDirectory $starter -Environment $childEnv -Script @'
$ErrorActionPreference = 'Stop'
Import-Module $env:RR_MODULE
$null = Connect-RayCluster -Backend Ray -Address $env:RR_ADDRESS -NoAutoStart -MaxConcurrent 1
$runs = 1..4 | ForEach-Object { @{ value = $_; sleep = 1 } } | Start-RayExperiment -Entrypoint $env:RR_EP -SweepId outlive
'IDS ' + ($runs.RunId -join ',')
'@
        $a.ExitCode | Should -Be 0 -Because $a.Stderr
        $ids = ($a.Stdout -split "`r?`n" | Where-Object { $_ -like 'IDS *' }).Substring(4) -split ','
        $ids.Count | Should -Be 4

        # Session B, elsewhere: finds the runs in the store, waits (dispatching the orphaned queued ones) and collects.
        $b = Invoke-ChildPwshScript -WorkingDirectory $collector -Environment $childEnv -Script @'
$ErrorActionPreference = 'Stop'
Import-Module $env:RR_MODULE
$runs = Get-RayRun -SweepId outlive
$null = $runs | Wait-RayRun -Timeout 90
$runs | Receive-RayRun | ForEach-Object { 'RESULT {0} {1} {2}' -f $_.RunId, $_.Status, $_.Metrics['value'] }
'@
        $b.ExitCode | Should -Be 0 -Because $b.Stderr
        $results = $b.Stdout -split "`r?`n" | Where-Object { $_ -like 'RESULT *' } | ForEach-Object {
            $f = $_ -split ' '
            [pscustomobject]@{ RunId = $f[1]; Status = $f[2]; Value = [int]$f[3] }
        }
        ($results.RunId | Sort-Object) | Should -Be ($ids | Sort-Object)
        $results | Where-Object Status -NE 'completed' | Should -BeNullOrEmpty
        ($results.Value | Sort-Object) | Should -Be (1..4)
        $state = Get-RayStandInState $script:StandIn
        foreach ($id in $ids) { $state.dashboard.jobsCreated.$id | Should -Be 1 -Because "run $id must be one Ray job" }
    }
}

Describe 'A local Ray head' {
    BeforeAll {
        # The stand-in 'ray' (tests/fixtures/ray/ray) first on PATH; 'ray start' brings a dashboard up.
        $script:Cli = Start-RayStandIn -Arguments '--cli', '--no-dashboard'
        $env:PATH = $script:FixtureDir + [IO.Path]::PathSeparator + $script:SavedEnv['PATH']
        $env:RAY_STANDIN_CONTROL = $script:Cli.CliControl
        $env:RAY_STANDIN_ARGV_LOG = $script:Cli.ArgvLog
    }
    AfterAll {
        Disconnect-RayCluster -Confirm:$false
        $env:PATH = $script:SavedEnv['PATH']
        $env:RAY_STANDIN_CONTROL = $null
        $env:RAY_STANDIN_ARGV_LOG = $null
        Stop-RayStandIn $script:Cli
    }

    It 'is started when nothing answers, runs the experiments, and is stopped on disconnect' {
        Disconnect-RayCluster -Confirm:$false
        $port = Get-FreeTcpPort
        $address = "http://127.0.0.1:$port"
        $cluster = Connect-RayCluster -Backend Ray -Address $address -MaxConcurrent 2 -ErrorAction Stop
        $cluster.StartedByRayRunner | Should -BeTrue
        $state = Get-RayStandInState $script:Cli
        $state.cli.startCalls | Should -Be 1
        $state.cli.dashboard.port | Should -Be $port
        $start = $state.cli.invocations[0]
        $start[0..1] | Should -Be 'start', '--head'
        $start[[array]::IndexOf($start, '--dashboard-port') + 1] | Should -Be "$port"

        $result = Invoke-RayExperiment -Config @{ value = 3 } -Entrypoint $script:Ep
        $result.Status | Should -Be 'completed'
        $result.Metrics['value'] | Should -Be 3
        (Get-RayStandInState $script:Cli).cli.dashboard.jobsCreated.($result.RunId) | Should -Be 1

        Disconnect-RayCluster -WhatIf
        (Get-RayStandInState $script:Cli).cli.stopCalls | Should -Be 0 -Because '-WhatIf stops nothing'
        Disconnect-RayCluster -Confirm:$false
        $state = Get-RayStandInState $script:Cli
        $state.cli.stopCalls | Should -Be 1
        $state.cli.dashboard | Should -BeNullOrEmpty
        { Invoke-RestMethod "$address/api/version" -TimeoutSec 2 } | Should -Throw
    }

    It 'started by a session that ended without Disconnect, is recorded and stopped by a later session from another folder' {
        Disconnect-RayCluster -Confirm:$false
        $port = Get-FreeTcpPort
        $address = "http://127.0.0.1:$port"
        $before = Get-RayStandInState $script:Cli
        $envs = @{ RAYRUNNER_HOME = $env:RAYRUNNER_HOME; RR_MODULE = $script:ModulePath; RR_ADDRESS = $address; PATH = $env:PATH
                   RAY_STANDIN_CONTROL = $env:RAY_STANDIN_CONTROL; RAY_STANDIN_ARGV_LOG = $env:RAY_STANDIN_ARGV_LOG }
        # Session A starts the head and ends without Disconnect-RayCluster (a closed window).
        $a = Invoke-ChildPwshScript -WorkingDirectory $TestDrive -Environment $envs -Script @'
Import-Module $env:RR_MODULE -ErrorAction Stop
(Connect-RayCluster -Backend Ray -Address $env:RR_ADDRESS -ErrorAction Stop).StartedByRayRunner
'@
        $a.ExitCode | Should -Be 0 -Because $a.Stderr
        $a.Stdout.Trim() | Should -Be 'True'
        $afterA = Get-RayStandInState $script:Cli
        $afterA.cli.startCalls | Should -Be ($before.cli.startCalls + 1)
        $afterA.cli.stopCalls | Should -Be $before.cli.stopCalls -Because 'session A never disconnected'
        (Invoke-RestMethod "$address/api/version" -TimeoutSec 5).version | Should -Not -BeNullOrEmpty
        @(Get-ChildItem (Join-Path $env:RAYRUNNER_HOME 'heads') -Filter *.json).Count | Should -Be 1 -Because 'the store remembers who started the head'

        # Session B, from another folder, finds it answering, knows RayRunner started it, and stops it.
        $other = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'elsewhere') -Force
        $b = Invoke-ChildPwshScript -WorkingDirectory $other.FullName -Environment $envs -Script @'
Import-Module $env:RR_MODULE -ErrorAction Stop
(Connect-RayCluster -Backend Ray -Address $env:RR_ADDRESS -NoAutoStart -ErrorAction Stop).StartedByRayRunner
Disconnect-RayCluster -Confirm:$false 6>&1 | ForEach-Object { "said: $_" }
'@
        $b.ExitCode | Should -Be 0 -Because $b.Stderr
        $b.Stdout | Should -Match 'True'
        $b.Stdout | Should -Match "said: Stopped the local Ray cluster at $([regex]::Escape($address))"
        $afterB = Get-RayStandInState $script:Cli
        $afterB.cli.startCalls | Should -Be $afterA.cli.startCalls
        $afterB.cli.stopCalls | Should -Be ($afterA.cli.stopCalls + 1)
        { Invoke-RestMethod "$address/api/version" -TimeoutSec 2 } | Should -Throw
        @(Get-ChildItem (Join-Path $env:RAYRUNNER_HOME 'heads') -Filter *.json).Count | Should -Be 0
    }

    It 'is left running when RayRunner found it already there' {
        Disconnect-RayCluster -Confirm:$false
        $before = Get-RayStandInState $script:Cli
        $cluster = Connect-RayCluster -Backend Ray -Address $script:StandIn.Address -MaxConcurrent 2 -ErrorAction Stop
        $cluster.StartedByRayRunner | Should -BeFalse
        (Invoke-RayExperiment -Config @{ value = 4 } -Entrypoint $script:Ep).Status | Should -Be 'completed'
        Disconnect-RayCluster -Confirm:$false
        $after = Get-RayStandInState $script:Cli
        $after.cli.startCalls | Should -Be $before.cli.startCalls
        $after.cli.stopCalls | Should -Be $before.cli.stopCalls -Because "'ray stop' stops every Ray process on the machine"
        (Invoke-RestMethod "$($script:StandIn.Address)/api/version" -TimeoutSec 5).version | Should -Not -BeNullOrEmpty
    }
}

Describe 'Without Ray' {
    It 'asking for Ray with no ray on PATH and nothing answering is RayNotInstalled, saying what to do' {
        Disconnect-RayCluster -Confirm:$false
        $empty = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'no-ray') -Force
        $env:PATH = $empty.FullName
        try {
            $address = "http://127.0.0.1:$(Get-FreeTcpPort)"
            { Connect-RayCluster -Backend Ray -Address $address } | Should -Throw -ErrorId 'RayNotInstalled,RayRunner.PowerShell.ConnectRayClusterCommand'
            $record = $Error[0]
            $record.CategoryInfo.Category | Should -Be 'NotInstalled'
            $record.Exception.Message | Should -Match 'pip install'
            $record.ErrorDetails.RecommendedAction | Should -Match '-Backend Local'
            $record.ErrorDetails.RecommendedAction | Should -Match '-Address'
            Get-RayCluster | Should -BeNullOrEmpty -Because 'a failed connect leaves no connection'
        }
        finally { $env:PATH = $script:SavedEnv['PATH'] }
    }
}
