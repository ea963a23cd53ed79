#Requires -Version 7.0
<#
    Per-run resources through the cmdlets on the local backend: what a runtime_env means on this
    machine (its env_vars are set for the run, its other fields are named in one warning per call)
    and the resources a run asked for, shown by Format-List. The Ray side is in RayProduction.Tests.ps1.
        Invoke-Pester ./tests/Pester/Resources.Tests.ps1 -Output Detailed
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'ChildPwsh.ps1')
    . (Join-Path $PSScriptRoot 'RayStandIn.Helpers.ps1')
    $repoRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $script:ModulePath = if ($env:RAYRUNNER_MODULE_PATH) { $env:RAYRUNNER_MODULE_PATH } else { Join-Path $repoRoot 'out/RayRunner/RayRunner.psd1' }
    $script:SavedHome = $env:RAYRUNNER_HOME
    $env:RAYRUNNER_HOME = Join-Path $TestDrive 'rayrunner-home'
    Import-Module $script:ModulePath -Force -ErrorAction Stop
    # The run prints what it sees; single quotes keep $FOO for the run's shell, not the template.
    $script:EchoEp = "sh -c 'echo FOO=`$FOO BAR=`$BAR'"
    Disconnect-RayCluster -Confirm:$false
    $null = Connect-RayCluster -Backend Local -MaxConcurrent 4 -WarningAction SilentlyContinue
}

AfterAll {
    Disconnect-RayCluster -Confirm:$false -ErrorAction SilentlyContinue
    $env:RAYRUNNER_HOME = $script:SavedHome
}

Describe 'A runtime_env on the local backend' -Tag 'LocalBackend' {
    It 'sets its env_vars for each run (a config''s own runtime_env wins) and warns once per call about the fields it cannot apply' {
        $configs = @{ n = 1 }, @{ n = 2; _resources = @{ runtime_env = @{ conda = 'env'; env_vars = @{ FOO = 'own' } } } }
        $runs = $configs | Start-RayExperiment -Entrypoint $script:EchoEp -WarningVariable warned -WarningAction SilentlyContinue `
            -RuntimeEnv @{ pip = @('requests'); env_vars = @{ FOO = 'bar'; BAR = 'baz' } }
        $results = $runs | Wait-RayRun -Timeout 60 | Receive-RayRun
        $results.Status | Should -Be @('completed', 'completed')
        ($runs[0] | Get-RayRunLog) -join "`n" | Should -Match 'FOO=bar BAR=baz'
        ($runs[1] | Get-RayRunLog) -join "`n" | Should -Match 'FOO=own BAR=$' -Because 'a config''s runtime_env replaces the call''s, as on Ray'
        @($warned) | Should -HaveCount 1 -Because 'one warning per call, not per run'
        [string]$warned[0] | Should -Match 'pip, conda'
        [string]$warned[0] | Should -Match 'env_vars'
    }

    It 'says nothing when the runtime_env holds env_vars alone' {
        $run = Start-RayExperiment -Config @{ n = 1 } -Entrypoint $script:EchoEp -RuntimeEnv '{"env_vars": {"FOO": "json"}}' -WarningVariable warned
        ($run | Wait-RayRun -Timeout 60).Status | Should -Be 'completed'
        ($run | Get-RayRunLog) -join "`n" | Should -Match 'FOO=json'
        $warned | Should -BeNullOrEmpty
    }

    It 'refuses env_vars that are not text, as Ray would, and starts nothing' {
        $before = @(Get-RayRun).Count
        { Start-RayExperiment -Config @{ n = 1 } -Entrypoint $script:EchoEp -RuntimeEnv @{ env_vars = @{ FOO = 4 } } -ErrorAction Stop } |
            Should -Throw -ErrorId 'RunResourcesInvalid,RayRunner.PowerShell.StartRayExperimentCommand' -ExpectedMessage '*env_vars.FOO must be text*'
        @(Get-RayRun).Count | Should -Be $before
    }
}

Describe 'What a run asked for' -Tag 'LocalBackend' {
    It 'is shown by Format-List, in this session and in a new one that reads the store; the table still fits 80 columns' {
        $run = Start-RayExperiment -Config @{ n = 1 } -Entrypoint $script:EchoEp -NumCpus 1 -Memory 2GB -Resources @{ TPU = 1; accel = 0.5 } `
            -RuntimeEnv @{ env_vars = @{ FOO = 'x' } }
        $null = $run | Wait-RayRun -Timeout 60
        $shown = Get-RayRun -RunId $run.RunId
        $shown.NumCpus | Should -Be 1
        $shown.Memory | Should -Be 2GB
        $shown.Resources['TPU'] | Should -Be 1
        $shown.Resources.ContainsKey('experiment_slot') | Should -BeFalse -Because 'the MaxConcurrent cap is RayRunner''s, not the user''s'
        $list = $shown | Format-List | Out-String -Width 80
        $list | Should -Match 'Requested\s*: 1 CPU, 2 GiB memory, TPU=1, accel=0\.5'
        $list | Should -Match 'RuntimeEnv\s*: \{"env_vars":\{"FOO":"x"\}\}'
        # The table keeps its 80-column layout: the resources are for Format-List only.
        ($shown | Format-Table | Out-String -Width 80) | Should -Match 'RunId\s+SweepId\s+Status\s+Submitted\s+Duration\s+Entrypoint\s*\r?\n'

        $child = Invoke-ChildPwshScript -WorkingDirectory $TestDrive -Environment @{ RAYRUNNER_HOME = $env:RAYRUNNER_HOME; RR_MODULE = $script:ModulePath; RR_ID = $run.RunId } -Script @'
$ErrorActionPreference = 'Stop'
Import-Module $env:RR_MODULE
Get-RayRun -RunId $env:RR_ID | Format-List | Out-String -Width 80
'@
        $child.ExitCode | Should -Be 0 -Because $child.Stderr
        $child.Stdout | Should -Match 'Requested\s*: 1 CPU, 2 GiB memory, TPU=1, accel=0\.5'

        $plain = Start-RayExperiment -Config @{ n = 2 } -Entrypoint $script:EchoEp
        ($plain | Format-List | Out-String -Width 80) | Should -Match 'Requested\s*: nothing reserved' -Because 'a local run without -NumCpus reserves no CPU slot'
    }
}
