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
    . (Join-Path $PSScriptRoot 'ChildPwsh.ps1')
    $repoRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $script:ModulePath = if ($env:RAYRUNNER_MODULE_PATH) { $env:RAYRUNNER_MODULE_PATH } else { Join-Path $repoRoot 'out/RayRunner/RayRunner.psd1' }
    $script:SavedHome = $env:RAYRUNNER_HOME
    $script:SavedModulePath = $env:PSModulePath
    $env:RAYRUNNER_HOME = Join-Path $TestDrive 'rayrunner-home'
    # As installed: the module's parent folder on PSModulePath (Get-Help finds about_ topics there).
    $env:PSModulePath = (Split-Path -Parent (Split-Path -Parent $script:ModulePath)) + [System.IO.Path]::PathSeparator + $env:PSModulePath
    Import-Module $script:ModulePath -Force -ErrorAction Stop

    $python = Get-Command python3, python -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    $script:Experiment = Join-Path $PSScriptRoot 'assets/experiment.py'
    # Quoted inside the template, so a repository path with blanks stays one argument.
    $script:Ep = if ($python) { "'$($python.Source)' '$script:Experiment' {overrides}" } else { $null }

    function script:Connect-Local {
        param([int] $MaxConcurrent = 4)
        Disconnect-RayCluster -Confirm:$false
        Connect-RayCluster -Backend Local -MaxConcurrent $MaxConcurrent -WarningAction SilentlyContinue
    }
}

AfterAll {
    Disconnect-RayCluster -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Module RayRunner -ErrorAction SilentlyContinue
    $env:RAYRUNNER_HOME = $script:SavedHome
    $env:PSModulePath = $script:SavedModulePath
}

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
