#Requires -Version 7.0
<#
    What a new user trips over (issue 12), in a real pwsh over the staged module and the real local
    backend: capacity, configs too large for a command line, metrics, views at 80 columns, tags,
    tab completion of sweep ids, and messages a user can act on.
        Invoke-Pester ./tests/Pester/NewUser.Tests.ps1
    RAYRUNNER_HOME points into TestDrive; tests/Pester/assets/reporter.py (python3, standard
    library only) is the experiment.
#>

BeforeAll {
    $repoRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $script:ModulePath = if ($env:RAYRUNNER_MODULE_PATH) { $env:RAYRUNNER_MODULE_PATH } else { Join-Path $repoRoot 'out/RayRunner/RayRunner.psd1' }
    $script:SavedHome = $env:RAYRUNNER_HOME
    $env:RAYRUNNER_HOME = Join-Path $TestDrive 'rayrunner-home'
    Import-Module $script:ModulePath -Force -ErrorAction Stop

    $python = Get-Command python3, python -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    $reporter = Join-Path $PSScriptRoot 'assets/reporter.py'
    $script:Ep = "'$($python.Source)' '$reporter'"

    function script:Reconnect {
        [CmdletBinding()]
        param([hashtable] $With = @{})
        Disconnect-RayCluster -Confirm:$false
        Connect-RayCluster -Backend Local @With
    }

    # A result line the experiment prints as it is.
    function script:Line([string] $Json) { [ordered]@{ line = "RAYRUNNER_RESULT $Json" } }

    . (Join-Path $PSScriptRoot 'ChildPwsh.ps1')
}

AfterAll {
    Disconnect-RayCluster -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Module RayRunner -ErrorAction SilentlyContinue
    $env:RAYRUNNER_HOME = $script:SavedHome
}

Describe 'MaxConcurrent on a machine with fewer cores' {
    BeforeAll {
        # More runs at once than this machine has cores, whatever the machine.
        $script:Many = [Environment]::ProcessorCount * 2 + 2
    }
    AfterEach { Disconnect-RayCluster -Confirm:$false }

    It 'runs -MaxConcurrent runs at once when -NumCpusPerTask is not given' {
        $cluster = Reconnect @{ MaxConcurrent = $script:Many } -WarningVariable warned
        $results = 1..$script:Many | ForEach-Object { @{ sleep = 2; n = $_ } } |
            Invoke-RayExperiment -Entrypoint $script:Ep -ProgressAction SilentlyContinue
        $results.Status | Select-Object -Unique | Should -Be 'completed'
        # All of them overlapped: the last one started before the first one ended.
        ($results.started | Measure-Object -Maximum).Maximum | Should -BeLessThan ($results.ended | Measure-Object -Minimum).Minimum

        $warned | Should -BeNullOrEmpty
        $cluster.RunsAtOnce | Should -Be $script:Many
        $cluster.NumCpusPerTask | Should -Be 0
    }

    It 'warns at connect and shows the effective figure when CPUs per run cap it' {
        $cluster = Reconnect @{ MaxConcurrent = $script:Many; NumCpusPerTask = 1 } -WarningVariable warned 3>$null
        $cluster.RunsAtOnce | Should -Be ([Environment]::ProcessorCount)
        (Get-RayCluster).RunsAtOnce | Should -Be ([Environment]::ProcessorCount)
        "$warned" | Should -Match "at most $([Environment]::ProcessorCount) of these runs at once, not the $($script:Many)"
        "$warned" | Should -Match '-NumCpusPerTask 0'
    }
}

Describe 'A config too large for a command line' {
    BeforeAll { Reconnect | Out-Null }

    It 'is refused at validation, naming the key and pointing to a file' {
        $big = @{ lr = 0.1; data = @{ blob = 'x' * 200KB } }
        $runs = $big | Start-RayExperiment -Entrypoint "$script:Ep {overrides}" -ErrorVariable failed -ErrorAction SilentlyContinue
        $runs | Should -BeNullOrEmpty
        $failed | Should -HaveCount 1
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'ConfigInvalid,*'
        "$failed" | Should -Match "'data\.blob'"
        "$failed" | Should -Match 'file'
        $failed[0].ErrorDetails.RecommendedAction | Should -Match "Save the value of 'data\.blob' to a file"
        Get-RayRun | Should -BeNullOrEmpty -Because 'nothing is recorded for a config that was refused'
    }
}

Describe 'Metrics' {
    BeforeAll { Reconnect | Out-Null }

    It 'keeps a metric that is not a number, as text, and warns' {
        $r = Invoke-RayExperiment -Config (Line '{"metrics": {"loss": "low", "acc": 0.5}}') -Entrypoint $script:Ep -WarningVariable warned 3>$null
        $r.Status | Should -Be 'completed'
        $r.loss | Should -Be 'low'
        $r.Metrics.loss | Should -Be 'low'
        $r.acc | Should -Be 0.5
        "$warned" | Should -Match 'not numbers: loss=low'
    }

    It 'warns once per call, not once per run, when every run of a sweep reports the same text metric' {
        $results = 1..3 | ForEach-Object { Line ('{"metrics": {"loss": "low", "n": ' + $_ + '}}') } |
            Invoke-RayExperiment -Entrypoint $script:Ep -WarningVariable warned 3>$null
        $results.loss | Should -Be @('low', 'low', 'low')
        @($warned) | Should -HaveCount 1
    }

    It 'keeps metrics named like built-in properties reachable, and says where' {
        $r = Invoke-RayExperiment -Config (Line '{"metrics": {"Status": 3, "RunId": 7, "loss": 0.25}}') -Entrypoint $script:Ep -WarningVariable warned 3>$null
        $r.Status | Should -Be 'completed'
        $r.Metrics.Status | Should -Be 3
        $r.Metrics.RunId | Should -Be 7
        $r.loss | Should -Be 0.25
        "$warned" | Should -Match '\$result\.Metrics\.Status'
        ($r | Format-List | Out-String) | Should -Match 'Status=3'
    }

    It 'reports a truncated result line in the run''s error' {
        $r = Invoke-RayExperiment -Config (Line '{"status": "completed", "metrics": {"loss": 0.') -Entrypoint $script:Ep -WarningVariable warned 3>$null
        $r.Status | Should -Be 'completed'
        $r.ErrorMessage | Should -Match 'not valid JSON'
        $r.ErrorMessage | Should -Match 'no metrics'
        "$warned" | Should -Match "Run $($r.RunId) completed, but"
    }
}

Describe 'Default views at 80 columns' {
    BeforeAll {
        Reconnect | Out-Null
        $report = [ordered]@{ acc = 0.9; m3 = 3; m4 = 4; m5 = 5; m6 = 6 }
        $configs = foreach ($lr in 0.001, 0.01) { foreach ($seed in 1, 2) { [ordered]@{ lr = $lr; seed = $seed; model = 'mlp'; report = $report } } }
        $script:Runs = $configs | Start-RayExperiment -Entrypoint $script:Ep -SweepId views
        $script:Results = $script:Runs | Wait-RayRun | Receive-RayRun
    }

    It 'fits the <Name> table in 80 columns with every header whole' -ForEach @(
        @{ Name = 'run'; Command = { Get-RayRun -SweepId views }; Headers = 'RunId', 'SweepId', 'Status', 'Submitted', 'Duration', 'Entrypoint' }
        @{ Name = 'result'; Command = { $script:Results }; Headers = 'RunId', 'Status', 'Duration', 'Config', 'Metrics' }
        @{ Name = 'cluster'; Command = { Get-RayCluster }; Headers = 'Backend', 'Address', 'MaxConcurrent', 'RunsAtOnce', 'CpusPerTask', 'ActiveRuns' }) {
        $lines = (& $Command | Format-Table | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() }
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $header = $lines[0] -split '\s+' | Where-Object { $_ }
        $header | Should -Be $Headers
    }

    It 'shows the swept settings and the main metrics in the result table' {
        $table = $script:Results | Format-Table | Out-String -Width 80
        $table | Should -Match 'lr=0\.001, seed=1'
        $table | Should -Not -Match 'model=' -Because 'a setting every run shares is not what the sweep varies'
        $table | Should -Match 'loss=0\.002, acc=0\.9'
    }

    It 'lists every metric and every setting in Format-List' {
        $list = $script:Results[0] | Format-List | Out-String -Width 200
        $list | Should -Match 'Metrics\s+: loss=0\.001, acc=0\.9, m3=3, m4=4, m5=5, m6=6'
        $list | Should -Match 'Config\s+: lr=0\.001, seed=1, model=mlp, report\.acc=0\.9, report\.m3=3'
    }
}

Describe 'Tags' {
    BeforeAll { Reconnect | Out-Null }

    It 'shows tags on runs and results and selects runs by tag' {
        $tagged = Start-RayExperiment -Config (Line '{"metrics": {"loss": 1}}') -Entrypoint $script:Ep -Tag nightly, gpu-a
        $plain = Start-RayExperiment -Config (Line '{"metrics": {"loss": 2}}') -Entrypoint $script:Ep
        $tagged.Tags | Should -Be @('nightly', 'gpu-a')
        (Get-RayRun -Tag nightly).RunId | Should -Be @($tagged.RunId)
        (Get-RayRun -Tag 'gpu-*').RunId | Should -Be @($tagged.RunId)
        Get-RayRun -Tag absent | Should -BeNullOrEmpty
        ($tagged | Wait-RayRun | Receive-RayRun).Tags | Should -Be @('nightly', 'gpu-a')
        ($tagged | Format-List | Out-String) | Should -Match 'Tags\s+: nightly, gpu-a'
        $plain | Wait-RayRun | Out-Null

        # Another process, no connection: the tags come from the run store.
        $id = $tagged.RunId
        $other = Invoke-ChildPwsh -Command "Import-Module '$script:ModulePath'; (Get-RayRun -Tag nightly).RunId; (Receive-RayRun -RunId $id).Tags -join ','"
        $other | Should -Be @($id, 'nightly,gpu-a')
    }
}

Describe 'Tab completion of -SweepId' {
    BeforeAll {
        Reconnect | Out-Null
        @{ a = 1 }, @{ a = 2 } | Start-RayExperiment -Entrypoint $script:Ep -SweepId complete-me | Wait-RayRun | Out-Null
    }

    It 'offers the store''s sweep ids to <Command>' -ForEach @(
        @{ Command = 'Get-RayRun -SweepId compl' }
        @{ Command = 'Resume-RaySweep -SweepId compl' }
        @{ Command = 'Start-RayExperiment -SweepId compl' }
        @{ Command = 'Invoke-RayExperiment -SweepId compl' }
        @{ Command = 'Measure-RaySweep -SweepId compl' }
        @{ Command = 'ConvertTo-RayResultTable -SweepId compl' }
        @{ Command = 'Export-RaySweepReport -SweepId compl' }) {
        $matches = (TabExpansion2 -inputScript $Command -cursorColumn $Command.Length).CompletionMatches
        $matches.CompletionText | Should -Be @('complete-me')
        $matches[0].ToolTip | Should -Match '2 run\(s\)'
    }
}

Describe 'HasToken with the token in RAY_AUTH_TOKEN' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'RayStandIn.Helpers.ps1')
        $script:SavedToken = $env:RAY_AUTH_TOKEN
        # A Ray dashboard (the stand-in program) that refuses requests without this token.
        $script:Secured = Start-RayStandIn -Arguments '--token', 'from-the-environment'
        $env:RAY_AUTH_TOKEN = 'from-the-environment'
    }
    AfterAll {
        Disconnect-RayCluster -Confirm:$false
        Stop-RayStandIn $script:Secured
        $env:RAY_AUTH_TOKEN = $script:SavedToken
    }

    It 'says True when Ray''s own rules found a token, and never shows it' {
        Disconnect-RayCluster -Confirm:$false
        $cluster = Connect-RayCluster -Backend Ray -Address $script:Secured.Address -NoAutoStart
        $cluster.HasToken | Should -BeTrue
        (Get-RayCluster).HasToken | Should -BeTrue
        ($cluster | Format-List * | Out-String) | Should -Not -Match 'from-the-environment'
        # The token really went with the requests: the secured dashboard ran the job.
        $r = Invoke-RayExperiment -Config @{ value = 3 } -Entrypoint "sh '$(Join-Path (Split-Path -Parent $PSScriptRoot) 'fixtures/ray/fake_experiment.sh')' {overrides}"
        $r.Status | Should -Be 'completed' -Because $r.ErrorMessage
    }
}

Describe 'Messages a user can act on' {
    BeforeAll { Reconnect | Out-Null }

    It 'says what is wrong with an entrypoint, without a .NET parameter name' {
        $e = { Start-RayExperiment -Config @{ a = 1 } -Entrypoint 'python "train.py {overrides}' } | Should -Throw -ErrorId 'EntrypointInvalid,*' -PassThru
        "$e" | Should -Not -Match "Parameter '"
        "$e" | Should -Match 'closing quote'
    }

    It 'states the run id rule in words for <Parameter>' -ForEach @(
        @{ Parameter = 'RunId' }, @{ Parameter = 'SweepId' }) {
        $splat = @{ Config = @{ a = 1 }; Entrypoint = 'python x'; $Parameter = '../escape' }
        $e = { Start-RayExperiment @splat } | Should -Throw -PassThru
        "$e" | Should -Not -Match '\^\['
        "$e" | Should -Match 'letters, digits'
    }

    It 'says an empty -Token is empty' {
        $e = { Connect-RayCluster -Backend Local -Token '' } | Should -Throw -ErrorId 'InvalidToken,*' -PassThru
        "$e" | Should -Match '-Token is empty'
        "$e" | Should -Not -Match 'not a String'
    }

    It 'names a JSON array as an array' {
        Start-RayExperiment -Config '[1, 2]' -Entrypoint 'python x' -ErrorVariable failed -ErrorAction SilentlyContinue
        "$failed" | Should -Match 'not an array'
    }

    It 'skips blank lines of a .jsonl config file' {
        $file = Join-Path $TestDrive 'configs.jsonl'
        Set-Content -Path $file -Value '{"line": "RAYRUNNER_RESULT {}", "n": 1}', '', '   ', '{"line": "RAYRUNNER_RESULT {}", "n": 2}', ''
        $runs = Get-Content $file | Start-RayExperiment -Entrypoint $script:Ep -ErrorVariable failed
        $failed | Should -BeNullOrEmpty
        $runs | Should -HaveCount 2
        $runs | Wait-RayRun | Out-Null
    }

    It 'starts a local run in PowerShell''s current location, not the process''s' {
        $folder = Join-Path $TestDrive 'project'
        New-Item -ItemType Directory -Path $folder -Force | Out-Null
        Copy-Item (Join-Path $PSScriptRoot 'assets/reporter.py') (Join-Path $folder 'here.py')
        $python = (Get-Command python3, python -CommandType Application | Select-Object -First 1).Source
        Push-Location $folder
        try {
            [IO.Directory]::GetCurrentDirectory() | Should -Not -Be $folder -Because 'Set-Location leaves the process where it was'
            $r = Invoke-RayExperiment -Config (Line '{"metrics": {"loss": 1}}') -Entrypoint "'$python' here.py"
        } finally { Pop-Location }
        $r.Status | Should -Be 'completed' -Because $r.ErrorMessage
    }

    It 'reads the log of a run this session already collected' {
        $r = Invoke-RayExperiment -Config (Line '{"metrics": {"loss": 1}}') -Entrypoint $script:Ep
        $log = Get-RayRunLog -RunId $r.RunId -ErrorVariable failed
        $failed | Should -BeNullOrEmpty
        $log | Should -Contain 'RAYRUNNER_RESULT {"metrics": {"loss": 1}}'
    }

    It 'keeps a run''s output.log private (0600)' -Skip:$IsWindows {
        $run = Start-RayExperiment -Config (Line '{}') -Entrypoint $script:Ep | Wait-RayRun
        $log = Join-Path $env:RAYRUNNER_HOME "runs/$($run.RunId)/output.log"
        (Get-Item $log).UnixFileMode | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite')
    }
}

# Issue 17: what the second new-user trial tripped over, in separate pwsh processes.
Describe 'Runs a closed session left queued' {
    AfterEach { Disconnect-RayCluster -Confirm:$false }

    It 'are flagged and warned about once per listing, and Resume-RaySweep dispatches them' {
        Disconnect-RayCluster -Confirm:$false
        # Another pwsh queues three runs behind a cap of one and exits before they get a slot.
        $started = Invoke-ChildPwsh -Command @"
`$env:RAYRUNNER_HOME = '$env:RAYRUNNER_HOME'
Import-Module '$script:ModulePath'
Connect-RayCluster -Backend Local -MaxConcurrent 1 | Out-Null
(1..3 | ForEach-Object { @{ sleep = 4; n = `$_ } } | Start-RayExperiment -Entrypoint "$($script:Ep -replace '"', '`"')" -SweepId left17).RunId
"@
        $LASTEXITCODE | Should -Be 0 -Because "$started"
        $ids = @($started | Where-Object { $_ -match '^[0-9a-f]{8}$' })
        $ids | Should -HaveCount 3

        $runs = Get-RayRun -SweepId left17 -WarningVariable warned 3>$null
        $orphans = @($runs | Where-Object IsOrphan)
        $orphans | Should -Not -BeNullOrEmpty -Because 'a cap of one leaves at least two runs queued'
        $orphans.Status | Select-Object -Unique | Should -Be 'queued'
        $warned | Should -HaveCount 1
        "$warned" | Should -BeLike "$($orphans.Count) queued run(s) will not start by themselves*'Resume-RaySweep -SweepId left17'*"

        $resumed = Resume-RaySweep -SweepId left17
        @($resumed.RunId) | Should -Be @($orphans.RunId)
        ($ids | Wait-RayRun -Timeout 120).Status | Select-Object -Unique | Should -Be 'completed'
        Get-RayRun -SweepId left17 -WarningVariable after 3>$null | Where-Object IsOrphan | Should -BeNullOrEmpty
        $after | Should -BeNullOrEmpty
    }
}
