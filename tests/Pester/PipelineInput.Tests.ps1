#Requires -Version 7.0
<#
    What the run cmdlets do with pipeline input that carries no run (new-user trial 3): $null from a
    variable that was never set, an empty array from a filter that matched nothing. A pipeline that
    delivers no run selects no run, as with Get-Process; it never means "every run", which made
    '$runs | Get-RayRun | Remove-RayRun -Force' with an empty $runs delete the whole store.
        Invoke-Pester ./tests/Pester/PipelineInput.Tests.ps1 -Output Detailed
    Over the staged module and the real local backend, RAYRUNNER_HOME in TestDrive.
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'LocalBackend.Setup.ps1')
    Connect-Local | Out-Null
    $script:Runs = @{ x = 1 }, @{ x = 2 } | Invoke-RayExperiment -Entrypoint $script:Ep -SweepId piped -ProgressAction SilentlyContinue
    $script:Runs | Should -HaveCount 2
    Disconnect-RayCluster -Confirm:$false
}

AfterAll { Restore-LocalBackendSession }

Describe 'Get-RayRun fed a pipeline with no run in it' {
    It 'writes no run for an empty array' {
        $none = @()
        @($none | Get-RayRun) | Should -HaveCount 0
        @($none | Get-RayRun -SweepId piped -IncludeAttempts) | Should -HaveCount 0
    }

    It 'writes the binding error for $null and no run' {
        $unset = $null
        $listed = @($unset | Get-RayRun -ErrorVariable failed -ErrorAction SilentlyContinue)
        $listed | Should -HaveCount 0
        $failed | Should -HaveCount 1
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError*'
    }

    It 'removes nothing when piped on to Remove-RayRun' {
        Connect-Local | Out-Null
        try {
            $none = @($script:Runs | Where-Object Status -eq 'no-such-status')
            $none | Get-RayRun | Remove-RayRun -Force -Confirm:$false
        }
        finally { Disconnect-RayCluster -Confirm:$false }
        @(Get-RayRun -SweepId piped) | Should -HaveCount 2
    }

    It 'still lists what the pipeline names, and everything when nothing is piped' {
        @($script:Runs[0] | Get-RayRun).RunId | Should -Be $script:Runs[0].RunId
        @(Get-RayRun -SweepId piped) | Should -HaveCount 2
    }
}

Describe 'Resume-RaySweep fed a pipeline with no run in it' {
    BeforeAll {
        # An orphan: a process with room for one run at a time queues the second and exits (the
        # first runs 20 s, far longer than the process takes to exit, so no slot frees before it is gone).
        $script:OrphanSweep = 'piped-orphans'
        $child = Invoke-ChildPwsh -Command ("Import-Module '$($script:ModulePath)'; Connect-RayCluster -Backend Local -MaxConcurrent 1 | Out-Null; " +
            "@{ sleep = 20 }, @{ sleep = 0 } | Start-RayExperiment -Entrypoint `"$($script:Ep)`" -SweepId $($script:OrphanSweep) | Out-Null")
        $LASTEXITCODE | Should -Be 0 -Because "$child"
        @(Get-RayRun -SweepId $script:OrphanSweep -WarningAction SilentlyContinue | Where-Object IsOrphan) | Should -HaveCount 1
    }

    It 'dispatches no orphan of any sweep when a filter upstream matched nothing' {
        @(Get-RayRun -SweepId 'no-such-sweep*' -Status queued | Resume-RaySweep) | Should -HaveCount 0
        $none = @()
        @($none | Resume-RaySweep) | Should -HaveCount 0
        Get-RayCluster | Should -BeNullOrEmpty -Because 'there was nothing to dispatch, so nothing connects'
        @(Get-RayRun -SweepId $script:OrphanSweep -WarningAction SilentlyContinue | Where-Object IsOrphan) | Should -HaveCount 1
    }

    It 'still dispatches every orphan when nothing is piped' {
        try {
            $resumed = @(Resume-RaySweep)
            $resumed | Should -HaveCount 1
            $resumed[0].SweepId | Should -Be $script:OrphanSweep
            $null = $resumed | Wait-RayRun -Timeout 120
        }
        finally { Disconnect-RayCluster -Confirm:$false }
    }
}
