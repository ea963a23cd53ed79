#Requires -Version 7.0
<#
    Pester 5 suite over the staged module (out/RayRunner), run in its own pwsh process:
        Invoke-Pester ./tests/Pester           (or ./build.ps1 -Task Test)

    The backend is the real local process backend, with tests/Pester/assets/experiment.py (python3,
    standard library only) as the experiment: the fake sits at the process boundary, not inside the
    module. Blocks tagged 'LocalBackend' need that backend (issue 4); the others need only the module.
    RAYRUNNER_HOME points into TestDrive so runs never touch the user's run store.
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'LocalBackend.Setup.ps1')
}

AfterAll { Restore-LocalBackendSession }

Describe 'The module' {
    It 'passes Test-ModuleManifest' {
        $manifest = Test-ModuleManifest -Path $script:ModulePath -ErrorAction Stop
        $manifest.RootModule | Should -Be 'RayRunner.dll'
        $manifest.CompatiblePSEditions | Should -Be @('Desktop', 'Core')
        $manifest.PowerShellVersion | Should -Be ([version]'5.1')
        $manifest.PrivateData.PSData.Tags | Should -Contain 'Ray'
    }

    It 'exports exactly its cmdlets, with approved verbs' {
        $expected = 'Connect-RayCluster', 'Disconnect-RayCluster', 'Get-RayCluster', 'Start-RayExperiment', 'Invoke-RayExperiment',
            'Get-RayRun', 'Get-RayRunStatus', 'Wait-RayRun', 'Receive-RayRun', 'Get-RayRunLog', 'Stop-RayRun', 'Remove-RayRun', 'Resume-RaySweep',
            'New-RaySweep', 'Measure-RaySweep', 'ConvertTo-RayResultTable', 'Export-RaySweepReport'
        $commands = Get-Command -Module RayRunner
        ($commands.Name | Sort-Object) | Should -Be ($expected | Sort-Object)
        $commands.CommandType | Select-Object -Unique | Should -Be 'Cmdlet'
        $approved = (Get-Verb).Verb
        foreach ($c in $commands) { $approved | Should -Contain $c.Verb }
    }

    It 'has help with at least two examples for <_>' -ForEach @(
        'Connect-RayCluster', 'Disconnect-RayCluster', 'Get-RayCluster', 'Start-RayExperiment', 'Invoke-RayExperiment',
        'Get-RayRun', 'Get-RayRunStatus', 'Wait-RayRun', 'Receive-RayRun', 'Get-RayRunLog', 'Stop-RayRun', 'Remove-RayRun',
        'Resume-RaySweep', 'New-RaySweep', 'Measure-RaySweep', 'ConvertTo-RayResultTable', 'Export-RaySweepReport') {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeLike "$_*"
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        foreach ($p in (Get-Command $_).Parameters.Values | Where-Object { $_.Name -notin [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters }) {
            ($help.Parameters.Parameter | Where-Object Name -EQ $p.Name).Description.Text | Should -Not -BeNullOrEmpty -Because "-$($p.Name) of $_ needs help"
        }
    }

    It 'ships about_RayRunner' {
        Get-Help about_RayRunner | Out-String | Should -Match 'RAYRUNNER_RESULT'
    }

    It 'binds -RunId by property name with the aliases Id and SubmissionId' {
        $p = (Get-Command Stop-RayRun).Parameters['RunId']
        $p.Aliases | Should -Be @('Id', 'SubmissionId')
        $p.Attributes.Where({ $_ -is [System.Management.Automation.ParameterAttribute] }).ValueFromPipelineByPropertyName | Should -Contain $true
    }
}

Describe 'Without a connection' {
    BeforeAll { Disconnect-RayCluster -Confirm:$false }

    It '<Command> fails with NotConnected' -ForEach @(
        @{ Command = { Stop-RayRun -RunId abc } }
        @{ Command = { Remove-RayRun -RunId abc } }) {
        $Command | Should -Throw -ErrorId 'NotConnected,RayRunner.PowerShell.*'
    }

    It '<Command> looks in the run store and reports RunNotFound for an id it lacks, without connecting' -ForEach @(
        @{ Command = { Wait-RayRun -RunId abc -ErrorAction Stop } }
        @{ Command = { Receive-RayRun -RunId abc -ErrorAction Stop } }
        @{ Command = { Get-RayRunLog -RunId abc -ErrorAction Stop } }) {
        $Command | Should -Throw -ErrorId 'RunNotFound,RayRunner.PowerShell.*'
        Get-RayCluster | Should -BeNullOrEmpty
    }

    It 'refuses -Resume without -SweepId before connecting' {
        { @{ a = 1 } | Start-RayExperiment -Entrypoint 'python train.py {overrides}' -Resume } | Should -Throw -ErrorId 'ResumeNeedsSweepId,RayRunner.PowerShell.*'
        { Invoke-RayExperiment -Config @{ a = 1 } -Entrypoint 'python train.py {overrides}' -Resume } | Should -Throw -ErrorId 'ResumeNeedsSweepId,RayRunner.PowerShell.*'
        Get-RayCluster | Should -BeNullOrEmpty
    }

    It 'reports unknown for an untracked run, as tmgg does' {
        (Get-RayRunStatus -RunId abc).Status | Should -Be 'unknown'
        Get-RayRun | Should -BeNullOrEmpty
        Get-RayCluster | Should -BeNullOrEmpty
    }

    It 'rejects a bad entrypoint before connecting' {
        { Start-RayExperiment -Config @{ a = 1 } -Entrypoint 'python "unclosed' } | Should -Throw -ErrorId 'EntrypointInvalid,RayRunner.PowerShell.*'
        Get-RayCluster | Should -BeNullOrEmpty
    }
}

Describe 'Connecting' -Tag 'LocalBackend' {
    AfterEach { Disconnect-RayCluster -Confirm:$false }

    It 'returns a RayCluster and reuses a live connection (tmgg: skip if connected)' {
        $first = Connect-Local -MaxConcurrent 3
        $first.PSObject.TypeNames[0] | Should -Be 'RayRunner.RayCluster'
        $first.Backend | Should -Be 'local'
        $again = Connect-RayCluster -MaxConcurrent 3
        $again.ConnectedAt | Should -Be $first.ConnectedAt
        (Get-RayCluster).MaxConcurrent | Should -Be 3
    }

    It 'refuses new settings while runs are active' {
        Connect-Local | Out-Null
        $run = Start-RayExperiment -Config @{ sleep = 20 } -Entrypoint $script:Ep
        { Connect-RayCluster -Backend Local -MaxConcurrent 9 } | Should -Throw -ErrorId 'ConnectionInUse,RayRunner.PowerShell.*'
        $run | Stop-RayRun
    }

    It 'never prints the token' {
        $token = [securestring]::new(); 'top-secret'.ToCharArray() | ForEach-Object { $token.AppendChar($_) }
        $verbose = Connect-RayCluster -Backend Local -Token $token -Verbose -WarningAction SilentlyContinue 4>&1 | Out-String
        $verbose | Should -Not -Match 'top-secret'
        (Get-RayCluster | Format-List * | Out-String) | Should -Not -Match 'top-secret'
    }
}

Describe 'Running experiments' -Tag 'LocalBackend' {
    BeforeAll { Connect-Local -MaxConcurrent 4 | Out-Null }

    It 'starts a piped sweep without blocking: one RayRun per config, unique 8-hex ids, one sweep id' {
        $runs = @{ lr = 0.1; sleep = 1 }, @{ lr = 0.2; sleep = 1 }, @{ lr = 0.3; sleep = 1 } | Start-RayExperiment -Entrypoint $script:Ep
        $runs | Should -HaveCount 3
        $runs[0].PSObject.TypeNames[0] | Should -Be 'RayRunner.RayRun'
        $runs.RunId | Select-Object -Unique | Should -HaveCount 3
        $runs.RunId | ForEach-Object { $_ | Should -Match '^[0-9a-f]{8}$' }
        $runs.SweepId | Select-Object -Unique | Should -HaveCount 1
        $runs.Status | ForEach-Object { $_ | Should -BeIn 'queued', 'pending', 'running' }
        $runs | Wait-RayRun | Should -HaveCount 3
    }

    It 'runs Start | Wait | Receive and sorts results by a metric' {
        $results = 0.3, 0.1, 0.2 | ForEach-Object { @{ lr = $_ } } | Start-RayExperiment -Entrypoint $script:Ep | Wait-RayRun | Receive-RayRun
        $results | Should -HaveCount 3
        $results[0].PSObject.TypeNames[0] | Should -Be 'RayRunner.ExperimentResult'
        ($results | Sort-Object loss | Select-Object -First 1).Config.lr | Should -Be 0.1
        ($results | Where-Object acc -GT 0.75).Config.lr | Should -Be 0.1, 0.2 -Because 'results keep input order'
        $results.Status | Select-Object -Unique | Should -Be 'completed'
    }

    It 'Invoke-RayExperiment returns results in input order, failures as results' {
        $results = @{ lr = 0.5; sleep = 1 }, @{ fail = $true }, @{ lr = 0.25 } | Invoke-RayExperiment -Entrypoint $script:Ep -ProgressAction SilentlyContinue
        $results.Status | Should -Be 'completed', 'failed', 'completed'
        $results[0].loss | Should -Be 5
        $results[2].loss | Should -Be 2.5
        $results[1].ErrorMessage | Should -Match 'asked to fail'
    }

    It 'exports metrics as CSV columns' {
        $csv = Join-Path $TestDrive 'results.csv'
        @{ lr = 0.1 }, @{ lr = 0.2 } | Invoke-RayExperiment -Entrypoint $script:Ep | Select-Object RunId, Status, loss, acc | Export-Csv $csv
        (Import-Csv $csv).loss | Should -Be '1', '2'
    }

    It 'accepts PSCustomObject and JSON configs; a config run_id is ignored (tmgg)' {
        $r = [pscustomobject]@{ lr = 0.4; run_id = 'mine' }, '{"lr": 0.3}' | Invoke-RayExperiment -Entrypoint $script:Ep
        $r.loss | Should -Be 4, 3
        $r[0].RunId | Should -Not -Be 'mine'
    }

    It 'passes shell metacharacters through as data' {
        $marker = Join-Path $TestDrive 'pwned'
        $run = Start-RayExperiment -Config @{ text = "`$(touch $marker); echo hi" } -Entrypoint $script:Ep
        $run | Wait-RayRun | Out-Null
        ($run | Get-RayRunLog | Where-Object { $_ -like 'ARGS *' }) | Should -BeLike "*touch $marker*"
        Test-Path $marker | Should -BeFalse
    }

    It 'shows runs in the default table view' {
        $run = Start-RayExperiment -Config @{ lr = 0.1 } -Entrypoint $script:Ep -RunId view-run
        $table = $run | Format-Table | Out-String -Width 250
        $table | Should -Match 'RunId\s+SweepId\s+Status\s+Submitted\s+Duration\s+Entrypoint'
        $result = $run | Receive-RayRun -Wait
        # Metrics in the order the run reported them (tests/Pester/assets/experiment.py: loss, then acc).
        ($result | Format-Table | Out-String -Width 250) | Should -Match 'loss=1, acc=0\.9'
    }

    It 'reports a timeout as status timeout' {
        $run = Start-RayExperiment -Config @{ sleep = 30 } -Entrypoint $script:Ep -TimeoutSeconds 1
        ($run | Wait-RayRun -Timeout 60).Status | Should -Be 'timeout'
    }

    It 'holds runs beyond MaxConcurrent as queued' {
        Connect-Local -MaxConcurrent 1 | Out-Null
        try {
            $runs = @{ sleep = 3 }, @{ sleep = 0 } | Start-RayExperiment -Entrypoint $script:Ep
            (Get-RayRunStatus -RunId $runs[1].RunId).Status | Should -Be 'queued'
            $runs | Wait-RayRun | Should -HaveCount 2
        }
        finally { Connect-Local -MaxConcurrent 4 | Out-Null }
    }
}

Describe 'Finding, waiting, stopping and removing runs' -Tag 'LocalBackend' {
    BeforeAll { Connect-Local -MaxConcurrent 4 | Out-Null }

    It 'Get-RayRun filters by wildcard id, sweep and status' {
        $a = @{ lr = 0.1 }, @{ lr = 0.2 } | Start-RayExperiment -Entrypoint $script:Ep -SweepId pester-sweep
        $b = Start-RayExperiment -Config @{ lr = 0.3 } -Entrypoint $script:Ep -RunId pester-single
        $a, $b | Wait-RayRun | Out-Null
        Get-RayRun -SweepId pester-* | Should -HaveCount 2
        (Get-RayRun -RunId pester-sing*).RunId | Should -Be 'pester-single'
        (Get-RayRun -Status completed).RunId | Should -Contain 'pester-single'
        { Get-RayRun -RunId no-such-run -ErrorAction Stop } | Should -Throw -ErrorId 'RunNotFound,RayRunner.PowerShell.*'
    }

    It 'Get-RayRunStatus takes ids by value and objects by property name' {
        $run = Start-RayExperiment -Config @{ lr = 0.1 } -Entrypoint $script:Ep
        $run | Wait-RayRun | Out-Null
        ($run.RunId | Get-RayRunStatus).Status | Should -Be 'completed'
        ([pscustomobject]@{ SubmissionId = $run.RunId } | Get-RayRunStatus).Status | Should -Be 'completed'
        (Get-RayRunStatus -RunId 'never-seen').Status | Should -Be 'unknown'
    }

    It 'Wait-RayRun -Any returns the first finished run; -Timeout 0 returns nothing for runs still going' {
        $slow, $fast = @{ sleep = 20 }, @{ sleep = 0 } | Start-RayExperiment -Entrypoint $script:Ep
        $slow | Wait-RayRun -Timeout 0 -WarningVariable left 3>$null | Should -BeNullOrEmpty
        "$left" | Should -BeLike "1 run(s) not finished after 00:00:00: $($slow.RunId).*Stop-RayRun*"
        ($slow, $fast | Wait-RayRun -Any -Timeout 60).RunId | Should -Be $fast.RunId
        $slow | Stop-RayRun
    }

    It 'Stop-RayRun honours -WhatIf, cancels, and is safe to repeat' {
        $run = Start-RayExperiment -Config @{ sleep = 30 } -Entrypoint $script:Ep
        $run | Stop-RayRun -WhatIf
        ($run | Get-RayRunStatus).Status | Should -BeIn 'pending', 'running', 'queued'
        ($run | Stop-RayRun -PassThru).Status | Should -Be 'cancelled'
        { $run | Stop-RayRun -ErrorAction Stop } | Should -Not -Throw
        ($run | Receive-RayRun).Status | Should -Be 'cancelled'
    }

    It 'Receive-RayRun reports RunNotFinished unless -Wait' {
        $run = Start-RayExperiment -Config @{ sleep = 2; lr = 0.2 } -Entrypoint $script:Ep
        { $run | Receive-RayRun -ErrorAction Stop } | Should -Throw -ErrorId 'RunNotFinished,RayRunner.PowerShell.*'
        ($run | Receive-RayRun -Wait).loss | Should -Be 2
        ($run | Receive-RayRun).loss | Should -Be 2 -Because 'receiving consumes nothing'
    }

    It 'Get-RayRunLog reads the output, -Tail the last lines' {
        $run = Start-RayExperiment -Config @{ lr = 0.1 } -Entrypoint $script:Ep -RunId log-run
        $run | Wait-RayRun | Out-Null
        $all = @($run | Get-RayRunLog)
        $all | Should -Contain 'RUN log-run'
        $all.Count | Should -BeGreaterThan 2
        $tail = @($run | Get-RayRunLog -Tail 2)
        $tail | Should -HaveCount 2
        $tail | Should -Be ($all | Select-Object -Last 2) -Because '-Tail N is the last N lines of the log'
        $tail[-1] | Should -BeLike 'RAYRUNNER_RESULT *'
    }

    It 'Remove-RayRun refuses running runs, honours -WhatIf, and forgets finished ones' {
        $run = Start-RayExperiment -Config @{ sleep = 30 } -Entrypoint $script:Ep
        { $run | Remove-RayRun -ErrorAction Stop } | Should -Throw -ErrorId 'RunNotFinished,RayRunner.PowerShell.*'
        $run | Stop-RayRun
        $run | Remove-RayRun -WhatIf
        $run | Get-RayRun | Should -HaveCount 1
        $run | Remove-RayRun -Confirm:$false
        { $run | Get-RayRun -ErrorAction Stop } | Should -Throw -ErrorId 'RunNotFound,RayRunner.PowerShell.*'
        ($run | Get-RayRunStatus).Status | Should -Be 'unknown'
    }

    It 'per-item errors honour -ErrorAction' {
        $bad = @{ ok = 1 }, @{ 'bad.key' = 1 } | Start-RayExperiment -Entrypoint $script:Ep -ErrorAction SilentlyContinue -ErrorVariable errs
        $bad | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ConfigInvalid,*'
        { @{ 'bad.key' = 1 } | Start-RayExperiment -Entrypoint $script:Ep -ErrorAction Stop } | Should -Throw -ErrorId 'ConfigInvalid,RayRunner.PowerShell.*'
        { Start-RayExperiment -Config @{ a = 1 }, @{ a = 2 } -Entrypoint $script:Ep -RunId one } | Should -Throw -ErrorId 'RunIdWithSweep,RayRunner.PowerShell.*'
    }

    It 'offers run ids to tab completion' {
        Start-RayExperiment -Config @{ lr = 0.1 } -Entrypoint $script:Ep -RunId complete-me | Wait-RayRun | Out-Null
        $line = 'Receive-RayRun -RunId complete-'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'complete-me'
    }
}
