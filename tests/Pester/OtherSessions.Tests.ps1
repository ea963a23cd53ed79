#Requires -Version 7.0
<#
    Pester 5 suite, continued from RayRunner.Tests.ps1 (same setup: LocalBackend.Setup.ps1): runs
    that outlive the session that started them. Another pwsh process starts a sweep and exits; this
    one lists, resumes, waits for and collects its runs through the run store.
        Invoke-Pester ./tests/Pester/OtherSessions.Tests.ps1
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'LocalBackend.Setup.ps1')
}

AfterAll { Restore-LocalBackendSession }

Describe 'Runs that outlive the session' -Tag 'LocalBackend' {
    BeforeAll {
        # Another process: imports the module, starts a sweep of three configs and exits at once,
        # without waiting or disconnecting (a runbook step, a closed window). Same RAYRUNNER_HOME.
        $script:Child = Join-Path $TestDrive 'start-and-exit.ps1'
        Set-Content -Path $script:Child -Value @'
param([string] $SweepId, [int] $MaxConcurrent, [string] $CountFile, [double] $Sleep)
$ErrorActionPreference = 'Stop'
Import-Module $env:RR_TEST_MODULE
# No CPU accounting: every run the runner hands over starts at once, whatever the machine's core
# count. (Runs beyond MaxConcurrent wait in the runner's queue as queued, and survive as orphans.)
Connect-RayCluster -Backend Local -MaxConcurrent $MaxConcurrent -NumCpusPerTask 0 -WarningAction SilentlyContinue | Out-Null
$runs = 0.1, 0.2, 0.3 | ForEach-Object { @{ lr = $_; sleep = $Sleep; count_file = $CountFile } } |
    Start-RayExperiment -Entrypoint $env:RR_TEST_EP -SweepId $SweepId
$runs.RunId
'@
        function script:Start-SweepInAnotherProcess {
            param([string] $SweepId, [int] $MaxConcurrent, [string] $CountFile, [double] $Sleep)
            $env:RR_TEST_MODULE = $script:ModulePath
            $env:RR_TEST_EP = $script:Ep
            try {
                $ids = Invoke-ChildPwsh -File $script:Child -SweepId $SweepId -MaxConcurrent $MaxConcurrent -CountFile $CountFile -Sleep $Sleep
                $LASTEXITCODE | Should -Be 0 -Because "the child process failed: $ids"
                $ids
            }
            finally { Remove-Item Env:RR_TEST_MODULE, Env:RR_TEST_EP -ErrorAction SilentlyContinue }
        }

        # The run ids that really started, one per start of the experiment.
        function script:Get-Starts([string] $CountFile) {
            if (-not (Test-Path $CountFile)) { return @() }
            @(Get-Content $CountFile | ForEach-Object { ($_ -split ' ')[0] })
        }
    }

    AfterEach { Disconnect-RayCluster -Confirm:$false }

    It '-Resume skips completed configs and runs only the failed and missing ones' {
        Connect-Local | Out-Null
        $count = Join-Path $TestDrive 'resume-starts.txt'
        $marker = Join-Path $TestDrive 'resume-fixed'
        $configs = @{ lr = 0.1; count_file = $count }, @{ lr = 0.2; fail_unless = $marker; count_file = $count }
        $first = $configs | Invoke-RayExperiment -Entrypoint $script:Ep -SweepId pester-resume
        $first.Status | Should -Be 'completed', 'failed'

        New-Item -ItemType File -Path $marker | Out-Null   # the cause of the failure is fixed
        $runs = $configs + @{ lr = 0.3; count_file = $count } | Start-RayExperiment -Entrypoint $script:Ep -SweepId pester-resume -Resume
        $runs | Should -HaveCount 3
        $runs[0].RunId | Should -Be $first[0].RunId -Because 'a completed config is answered by its completed run'
        $runs[0].Status | Should -Be 'completed'
        $runs[1].RunId | Should -Not -Be $first[1].RunId -Because 'a failed config runs again as a new run'

        $results = $runs | Wait-RayRun | Receive-RayRun
        $results.Status | Should -Be 'completed', 'completed', 'completed'
        $results.loss | Should -Be 1, 2, 3
        $starts = Get-Starts $count
        $starts | Should -HaveCount 4
        ($starts | Sort-Object) | Should -Be (@($first.RunId) + $runs[1].RunId + $runs[2].RunId | Sort-Object)
    }

    It 'lists a sweep another process started and left, without connecting, then collects it' {
        $count = Join-Path $TestDrive 'handoff-starts.txt'
        $ids = @(Start-SweepInAnotherProcess -SweepId pester-handoff -MaxConcurrent 3 -CountFile $count -Sleep 1)
        $ids | Should -HaveCount 3

        $listed = Get-RayRun -SweepId pester-handoff
        $listed.RunId | Should -Be $ids
        $listed.IsTracked | Should -Not -Contain $true
        (Get-RayRunStatus -RunId $ids).Status | ForEach-Object { $_ | Should -BeIn 'pending', 'running', 'completed' }
        Get-RayCluster | Should -BeNullOrEmpty -Because 'listing a store never connects'

        $results = Get-RayRun -SweepId pester-handoff | Receive-RayRun -Wait
        $results.RunId | Should -Be $ids
        $results.Status | Should -Be 'completed', 'completed', 'completed'
        $results.loss | Should -Be 1, 2, 3
        (Get-Starts $count | Sort-Object) | Should -Be ($ids | Sort-Object) -Because 'each run started once'
    }

    It 'a connected Get-RayRun shows a run another process left as ended once it has, as the store alone does' {
        $count = Join-Path $TestDrive 'ended-starts.txt'
        $ids = @(Start-SweepInAnotherProcess -SweepId pester-ended -MaxConcurrent 3 -CountFile $count -Sleep 0.5)
        $ids | Should -HaveCount 3
        # Bounded: without a connection the listing reads each run's exit file, so it turns
        # completed as soon as the runs end (0.5 s each), and nothing records that in the store.
        $deadline = [DateTime]::UtcNow.AddSeconds(120)
        while (@(Get-RayRun -SweepId pester-ended -Status completed).Count -lt 3) {
            if ([DateTime]::UtcNow -gt $deadline) { throw 'The runs the other process left did not end within 120 s.' }
            Start-Sleep -Milliseconds 200
        }

        Connect-Local | Out-Null
        (Get-RayRun -SweepId pester-ended).Status | Should -Be 'completed', 'completed', 'completed' -Because 'connecting must not show an older status than the store alone'
        (Get-RayRun -SweepId pester-ended | Receive-RayRun).loss | Should -Be 1, 2, 3
    }

    It 'Resume-RaySweep -WhatIf dispatches nothing; Resume-RaySweep dispatches the queued runs a dead process left' {
        $count = Join-Path $TestDrive 'orphan-starts.txt'
        # MaxConcurrent 1: the first run starts, the other two are still queued when the process exits
        # (each run sleeps 4 s, far longer than the process takes to exit, so no slot frees before it is gone).
        $ids = @(Start-SweepInAnotherProcess -SweepId pester-orphans -MaxConcurrent 1 -CountFile $count -Sleep 4)
        $ids | Should -HaveCount 3
        (Get-RayRunStatus -RunId $ids[1], $ids[2]).Status | Should -Be 'queued', 'queued'

        Resume-RaySweep -SweepId pester-orphans -WhatIf | Should -BeNullOrEmpty
        Get-RayCluster | Should -BeNullOrEmpty -Because '-WhatIf neither connects nor dispatches'
        (Get-RayRunStatus -RunId $ids[1], $ids[2]).Status | Should -Be 'queued', 'queued'

        $resumed = Get-RayRun -RunId $ids[0] | Resume-RaySweep
        $resumed.RunId | Should -Be $ids[1], $ids[2]
        $resumed[0].PSObject.TypeNames[0] | Should -Be 'RayRunner.RayRun'
        (Get-RayCluster).Backend | Should -Be 'local'

        $results = $ids | Receive-RayRun -Wait
        $results.Status | Should -Be 'completed', 'completed', 'completed'
        (Get-Starts $count | Sort-Object) | Should -Be ($ids | Sort-Object) -Because 'each run started exactly once'
        Resume-RaySweep -SweepId pester-orphans | Should -BeNullOrEmpty
    }
}
