#Requires -Version 7.0
<#
    Issue 15 (Ray in production) through the cmdlets, against the Ray stand-in program: per-run
    resources and runtime_env, jobs deleted from the head once saved (or kept with -KeepJobs), logs
    that outlive the head and are read from a new pwsh without connecting, the long-PENDING warning,
    a lost head failing its runs after a configurable grace, and the backend's notes in -Verbose.
    Needs a built solution (dotnet build RayRunner.sln). Every wait is bounded.
        Invoke-Pester ./tests/Pester/RayProduction.Tests.ps1 -Output Detailed
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'ChildPwsh.ps1')
    . (Join-Path $PSScriptRoot 'RayStandIn.Helpers.ps1')
    $repoRoot = Get-RepoRoot
    $script:ModulePath = if ($env:RAYRUNNER_MODULE_PATH) { $env:RAYRUNNER_MODULE_PATH } else { Join-Path $repoRoot 'out/RayRunner/RayRunner.psd1' }
    $script:SavedEnv = @{}
    foreach ($name in 'RAYRUNNER_HOME', 'RAY_ADDRESS', 'RAY_API_SERVER_ADDRESS', 'RAY_AUTH_TOKEN', 'RAY_AUTH_TOKEN_PATH',
        'RAYRUNNER_PENDING_WARNING_SECONDS', 'RAYRUNNER_HEAD_LOST_GRACE_SECONDS') {
        $script:SavedEnv[$name] = [Environment]::GetEnvironmentVariable($name)
        if ($name -notlike 'RAYRUNNER_HOME') { [Environment]::SetEnvironmentVariable($name, $null) }
    }
    $env:RAYRUNNER_HOME = Join-Path $TestDrive 'rayrunner-home'
    Import-Module $script:ModulePath -Force -ErrorAction Stop
    $script:Ep = "sh '$(Join-Path $repoRoot 'tests/fixtures/ray/fake_experiment.sh')' {overrides}"

    function script:Connect-StandIn {
        param([Parameter(Mandatory)] $StandIn, [switch] $KeepJobs)
        Disconnect-RayCluster -Confirm:$false
        $null = Connect-RayCluster -Backend Ray -Address $StandIn.Address -NoAutoStart -KeepJobs:$KeepJobs -ErrorAction Stop
    }
    function script:Get-JobOf($StandIn, [string] $RunId) { (Get-RayStandInState $StandIn).dashboard.jobs | Where-Object submissionId -EQ $RunId }
}

AfterAll {
    Disconnect-RayCluster -Confirm:$false -ErrorAction SilentlyContinue
    foreach ($kv in $script:SavedEnv.GetEnumerator()) { [Environment]::SetEnvironmentVariable($kv.Key, $kv.Value) }
}

Describe 'Per-run resources and runtime_env on Ray' {
    BeforeAll { $script:Head = Start-RayStandIn -Arguments '--slots', '8', '--cpus', '16' }
    AfterAll {
        Disconnect-RayCluster -Confirm:$false
        Stop-RayStandIn $script:Head
    }

    It 'sends -NumCpus, -Memory, -RuntimeEnv and -Tag, and a config''s own _resources wins' {
        Connect-StandIn $script:Head -KeepJobs
        $configs = @{ value = 1 }, @{ value = 2; _resources = @{ num_cpus = 3 } }
        $runs = $configs | Start-RayExperiment -Entrypoint $script:Ep -NumCpus 2 -Memory 1GB -Tag nightly `
            -RuntimeEnv @{ pip = @('requests'); env_vars = @{ OMP_NUM_THREADS = '4' } }
        $results = $runs | Wait-RayRun -Timeout 60 | Receive-RayRun
        $results.Status | Should -Be @('completed', 'completed')
        ($results.Metrics | ForEach-Object { $_['value'] }) | Should -Be @(1, 2) -Because '_resources is not a setting of the experiment'
        $first = Get-JobOf $script:Head $runs[0].RunId
        $second = Get-JobOf $script:Head $runs[1].RunId
        $first.numCpus | Should -Be 2
        $second.numCpus | Should -Be 3
        $first.memoryBytes | Should -Be 1GB
        $first.resources.experiment_slot | Should -Be 1 -Because 'the MaxConcurrent cap stays'
        $first.metadata.rayrunner_tags | Should -Be 'nightly'
        $env = $first.runtimeEnv | ConvertFrom-Json
        $env.pip | Should -Be @('requests')
        $env.env_vars.OMP_NUM_THREADS | Should -Be '4'
        $env.env_vars.RAYRUNNER_RUN_ID | Should -Be $runs[0].RunId
    }

    It 'refuses a runtime_env that is not a JSON object of Ray''s fields, and starts nothing' {
        Connect-StandIn $script:Head
        $before = @((Get-RayStandInState $script:Head).dashboard.jobs).Count
        { Start-RayExperiment -Config @{ value = 1 } -Entrypoint $script:Ep -RuntimeEnv '{"working_dir": "."}' -ErrorAction Stop } |
            Should -Throw -ErrorId 'RunResourcesInvalid,RayRunner.PowerShell.StartRayExperimentCommand' -ExpectedMessage '*-WorkingDirectory*'
        { Start-RayExperiment -Config @{ value = 1; _resources = @{ num_cpu = 1 } } -Entrypoint $script:Ep -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConfigInvalid,RayRunner.PowerShell.StartRayExperimentCommand' -ExpectedMessage '*_resources.num_cpu*'
        # Ray's own resources asked for as custom ones never schedule: refused, pointing at the right parameter, in any case.
        foreach ($case in @{ Name = 'CPU'; Use = '-NumCpus' }, @{ Name = 'gpu'; Use = '-NumGpus' }, @{ Name = 'Memory'; Use = '-Memory' }) {
            { Start-RayExperiment -Config @{ value = 1 } -Entrypoint $script:Ep -Resources @{ $case.Name = 2 } -ErrorAction Stop } |
                Should -Throw -ErrorId 'RunResourcesInvalid,RayRunner.PowerShell.StartRayExperimentCommand' -ExpectedMessage "*'$($case.Name)'*Use $($case.Use)*"
        }
        { Start-RayExperiment -Config @{ value = 1; _resources = @{ resources = @{ cpu = 1 } } } -Entrypoint $script:Ep -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConfigInvalid,RayRunner.PowerShell.StartRayExperimentCommand' -ExpectedMessage '*_resources.resources.cpu*_resources.num_cpus*'
        @((Get-RayStandInState $script:Head).dashboard.jobs).Count | Should -Be $before
    }
}

Describe 'A head that stays healthy, and logs that outlive it' {
    It 'deletes each job once its result and whole log are saved; a new pwsh elsewhere reads the log after the head is gone' {
        # This head's log tail drops the last two lines of every ended job (ray#46413): the final result line among them.
        $head = Start-RayStandIn -Arguments '--tail-drops-last-lines', '2'
        try {
            Connect-StandIn $head
            $out = Invoke-RayExperiment -Config @{ value = 5 }, @{ value = 6 } -Entrypoint $script:Ep -Verbose 4>&1
            $results = @($out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
            $results.Status | Should -Be @('completed', 'completed')
            ($results.Metrics | ForEach-Object { $_['value'] }) | Should -Be @(5, 6) -Because 'the whole log, not the short tail, decides the result'
            $ids = $results.RunId
            Wait-Until -Because 'both jobs to leave the head' -TimeoutSec 30 -Condition {
                $jobs = (Get-RayStandInState $head).dashboard.jobs
                -not ($jobs | Where-Object { $ids -contains $_.submissionId })
            }
            # An ended job's log is one GET of the whole file (issue 14c): the lossy tail is never read.
            @((Get-RayStandInState $head).dashboard.requests | Where-Object { $_.path -like '*/logs/tail' }).Count | Should -Be 0
            @((Get-RayStandInState $head).dashboard.requests | Where-Object { $_.path -like '/api/jobs/*/logs' }).Count | Should -Be 2
            Disconnect-RayCluster -Confirm:$false
        }
        finally { Stop-RayStandIn $head }

        $elsewhere = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'elsewhere') -Force
        $child = Invoke-ChildPwshScript -WorkingDirectory $elsewhere -Environment @{ RAYRUNNER_HOME = $env:RAYRUNNER_HOME; RR_MODULE = $script:ModulePath; RR_IDS = ($ids -join ',') } -Script @'
$ErrorActionPreference = 'Stop'
Import-Module $env:RR_MODULE
Get-RayRunLog -RunId ($env:RR_IDS -split ',') | ForEach-Object { 'LINE {0} {1}' -f $_.RunId, $_ }
if (Get-RayCluster -ErrorAction SilentlyContinue) { 'CONNECTED' }
'@
        $child.ExitCode | Should -Be 0 -Because $child.Stderr
        $lines = $child.Stdout -split "`r?`n" | Where-Object { $_ -like 'LINE *' }
        foreach ($id in $ids) {
            ($lines | Where-Object { $_ -like "LINE $id run $id starting*" }) | Should -Not -BeNullOrEmpty
            ($lines | Where-Object { $_ -like "LINE $id stderr line" }) | Should -Not -BeNullOrEmpty -Because 'the lines the tail dropped are kept'
        }
        $child.Stdout | Should -Not -Match 'CONNECTED'
    }

    It 'keeps jobs on the head with Connect-RayCluster -KeepJobs' {
        $head = Start-RayStandIn
        try {
            Connect-StandIn $head -KeepJobs
            $r = Invoke-RayExperiment -Config @{ value = 1 } -Entrypoint $script:Ep
            $r.Status | Should -Be 'completed'
            Start-Sleep -Milliseconds 500 # a delete, were one sent, is sent right after the result is saved
            (Get-JobOf $head $r.RunId).status | Should -Be 'SUCCEEDED'
        }
        finally {
            Disconnect-RayCluster -Confirm:$false
            Stop-RayStandIn $head
        }
    }
}

Describe 'Runs that wait or lose their head' {
    AfterEach {
        $env:RAYRUNNER_PENDING_WARNING_SECONDS = $null
        $env:RAYRUNNER_HEAD_LOST_GRACE_SECONDS = $null
        Disconnect-RayCluster -Confirm:$false -ErrorAction SilentlyContinue
    }

    It 'warns about a run PENDING longer than $env:RAYRUNNER_PENDING_WARNING_SECONDS, saying what it asked for and what is free' {
        $head = Start-RayStandIn -Arguments '--cpus', '4'
        try {
            $env:RAYRUNNER_PENDING_WARNING_SECONDS = '1'
            Connect-StandIn $head
            $r = Start-RayExperiment -Config @{ value = 1 } -Entrypoint $script:Ep -NumCpus 64
            # Warnings are written while a cmdlet waits: wait in short steps until it came (bounded).
            $all = [System.Collections.Generic.List[string]]::new()
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not ($all -match 'PENDING') -and [DateTime]::UtcNow -lt $deadline) {
                $null = $r | Wait-RayRun -Timeout 2 -WarningVariable warned -WarningAction SilentlyContinue
                foreach ($w in $warned) { $all.Add([string]$w) }
            }
            $text = $all -join "`n"
            $text | Should -Match "Ray job $($r.RunId) has been PENDING"
            $text | Should -Match 'asked for 64 CPU'
            $text | Should -Match 'free 4 of 4 CPU'
            $r | Stop-RayRun -Confirm:$false
        }
        finally { Stop-RayStandIn $head }
    }

    It 'without a connection, shows a run whose head stopped answering as unknown with why, in Get-RayRun and Get-RayRunStatus alike' {
        $head = Start-RayStandIn -Arguments '--cpus', '4'
        try {
            Connect-StandIn $head
            $r = Start-RayExperiment -Config @{ value = 1 } -Entrypoint $script:Ep -NumCpus 64   # never fits: stays PENDING
            Wait-Until -Because 'the job to be on the head' -TimeoutSec 30 -Condition { (Get-JobOf $head $r.RunId).status -eq 'PENDING' }
            # The submission is recorded right after the head took the job: wait for the record, not for luck.
            $record = Join-Path $env:RAYRUNNER_HOME "runs/$($r.RunId)/run.json"
            Wait-Until -Because 'the store to record the submission' -TimeoutSec 30 -Condition {
                (Test-Path $record) -and (Get-Content -Raw $record | ConvertFrom-Json).status -eq 'pending'
            }
            Disconnect-RayCluster -Confirm:$false   # the head is the user's: it keeps running, and so does the job
            # No connection, head answering: the recorded phase stands, and nothing warns.
            (Get-RayRun -RunId $r.RunId -WarningVariable w1).Status | Should -Be 'pending'
            $w1 | Should -BeNullOrEmpty
        }
        finally { Stop-RayStandIn $head }

        $child = Invoke-ChildPwshScript -WorkingDirectory $TestDrive -Environment @{ RAYRUNNER_HOME = $env:RAYRUNNER_HOME; RR_MODULE = $script:ModulePath; RR_ID = $r.RunId } -Script @'
Import-Module $env:RR_MODULE
$run = Get-RayRun -RunId $env:RR_ID -WarningVariable w1 -WarningAction SilentlyContinue
$status = Get-RayRunStatus -RunId $env:RR_ID -WarningVariable w2 -WarningAction SilentlyContinue
'LIST {0}' -f $run.Status
'STATUS {0}' -f $status.Status
'NOTE {0}' -f $run.ErrorMessage
'WARN1 {0}' -f ($w1 -join ' ')
'WARN2 {0}' -f ($w2 -join ' ')
if (Get-RayCluster -ErrorAction SilentlyContinue) { 'CONNECTED' }
'@
        $child.ExitCode | Should -Be 0 -Because $child.Stderr
        $child.Stdout | Should -Match 'LIST unknown'
        $child.Stdout | Should -Match 'STATUS unknown' -Because 'listing and status agree'
        $child.Stdout | Should -Match "NOTE The Ray head at $([regex]::Escape($head.Address)) did not answer; the run was last recorded pending"
        $child.Stdout | Should -Match "WARN1 The Ray head at $([regex]::Escape($head.Address)) did not answer.*$($r.RunId)"
        $child.Stdout | Should -Match "WARN2 The Ray head at .* did not answer"
        $child.Stdout | Should -Not -Match 'CONNECTED'
    }

    It 'fails each run of a lost head with a clear error once $env:RAYRUNNER_HEAD_LOST_GRACE_SECONDS passed' {
        $head = Start-RayStandIn
        $env:RAYRUNNER_HEAD_LOST_GRACE_SECONDS = '3'
        Connect-StandIn $head
        $r = Start-RayExperiment -Config @{ value = 1; sleep = 60 } -Entrypoint $script:Ep
        Wait-Until -Because 'the job to run' -TimeoutSec 30 -Condition { (Get-JobOf $head $r.RunId).status -eq 'RUNNING' }
        Stop-RayStandIn $head
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $null = $r | Wait-RayRun -Timeout 60 -WarningVariable warned -WarningAction SilentlyContinue
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 45 -Because 'the grace is 3 s, not the default 300 s'
        ($warned -join "`n") | Should -Match 'has not answered'
        $result = $r | Receive-RayRun
        $result.Status | Should -Be 'failed'
        $result.ErrorMessage | Should -Match 'is lost'
        $result.ErrorMessage | Should -Match 'RAYRUNNER_HEAD_LOST_GRACE_SECONDS'
    }

    It 'a retry the lost head never took has no log, and a new pwsh is told so and pointed to the attempt before it' {
        $head = Start-RayStandIn
        $env:RAYRUNNER_HEAD_LOST_GRACE_SECONDS = '2'
        Connect-StandIn $head
        $r = Start-RayExperiment -Config @{ value = 1; sleep = 60 } -Entrypoint $script:Ep -MaxRetries 1
        Wait-Until -Because 'the job to run' -TimeoutSec 30 -Condition { (Get-JobOf $head $r.RunId).status -eq 'RUNNING' }
        Stop-RayStandIn $head
        $null = $r | Wait-RayRun -Timeout 120 -WarningAction SilentlyContinue
        $attempts = @($r | Get-RayRun -IncludeAttempts)
        $attempts | Should -HaveCount 2 -Because 'the lost attempt is retried, and the retry is refused by the head that is gone'
        Disconnect-RayCluster -Confirm:$false

        $child = Invoke-ChildPwshScript -WorkingDirectory $TestDrive -Environment @{ RAYRUNNER_HOME = $env:RAYRUNNER_HOME; RR_MODULE = $script:ModulePath; RR_ID = $r.RunId } -Script @'
Import-Module $env:RR_MODULE
Get-RayRunLog -RunId $env:RR_ID -ErrorAction SilentlyContinue -ErrorVariable failed
'ERR ' + $failed[0].FullyQualifiedErrorId + ' ' + $failed[0]
'@
        $child.ExitCode | Should -Be 0 -Because $child.Stderr
        $said = @($child.Stdout -split "`r?`n" | Where-Object { $_ -like 'ERR *' })[0]
        $said | Should -BeLike 'ERR LogNotAvailable,*'
        $said | Should -Match 'attempt 2 never started'
        $said | Should -Match "Get-RayRunLog $($r.RunId) -Attempt 1"
        $said | Should -Not -Match 'has not started, so it has no log yet'
    }
}
