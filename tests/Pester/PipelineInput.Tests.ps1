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
