#Requires -Version 7.0
<#
    Pester 5: sweeps (issue 13) over the staged module: New-RaySweep, launching a described sweep
    (-WhatIf, -Filter, -First, -Resume -RequireMetric), Measure-RaySweep, ConvertTo-RayResultTable,
    Export-Csv with every column, and Export-RaySweepReport, in this process and, for the user's
    whole flow, in a separate pwsh process started from another folder.
#>

BeforeAll {
    $repoRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $script:RepoRoot = $repoRoot
    $script:ModulePath = if ($env:RAYRUNNER_MODULE_PATH) { $env:RAYRUNNER_MODULE_PATH } else { Join-Path $repoRoot 'out/RayRunner/RayRunner.psd1' }
    $script:SavedHome = $env:RAYRUNNER_HOME
    $env:RAYRUNNER_HOME = Join-Path $TestDrive 'rayrunner-home'
    Import-Module $script:ModulePath -Force -ErrorAction Stop

    $python = Get-Command python3, python -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    $script:Python = $python.Source
    $script:Experiment = Join-Path $PSScriptRoot 'assets/experiment.py'
    $script:Ep = "'$($python.Source)' '$script:Experiment' {overrides}"
    Disconnect-RayCluster -Confirm:$false
    Connect-RayCluster -Backend Local -MaxConcurrent 4 -WarningAction SilentlyContinue
}

AfterAll {
    Disconnect-RayCluster -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Module RayRunner -ErrorAction SilentlyContinue
    $env:RAYRUNNER_HOME = $script:SavedHome
}

Describe 'New-RaySweep' {
    It 'crosses a grid in the documented order, last key fastest, with labels and the runner''s hashes' {
        $c = New-RaySweep -Grid ([ordered]@{ lr = 0.1, 0.01; seed = 1, 2, 3 }) -Base @{ epochs = 5 }
        $c.Count | Should -Be 6
        $c.Label | Should -Be 'lr=0.1 seed=1', 'lr=0.1 seed=2', 'lr=0.1 seed=3', 'lr=0.01 seed=1', 'lr=0.01 seed=2', 'lr=0.01 seed=3'
        $c[4].Config.epochs | Should -Be 5
        $c[4].Config.seed | Should -Be 2
        ($c.ConfigHash | Select-Object -Unique).Count | Should -Be 6
        $c[0].PSObject.TypeNames[0] | Should -Be 'RayRunner.SweepConfig'
    }

    It 'takes a plain hashtable''s keys alphabetically, so the same call gives the same sweep' {
        (New-RaySweep -Grid @{ seed = 1, 2; alpha = 'a', 'b' }).Label | Should -Be 'alpha=a seed=1', 'alpha=a seed=2', 'alpha=b seed=1', 'alpha=b seed=2'
    }

    It 'sets dotted keys as nested values' {
        $c = New-RaySweep -Grid @{ 'model.k' = 8, 16 } -Base @{ model = @{ name = 'gnn' } }
        $c[1].Config.model.k | Should -Be 16
        $c[1].Config.model.name | Should -Be 'gnn'
    }

    It 'pairs -Zip lists and draws -Random reproducibly for a -Seed' {
        (New-RaySweep -Zip @{ lr = 0.1, 0.01; batch = 32, 64 }).Label | Should -Be 'batch=32 lr=0.1', 'batch=64 lr=0.01'
        $space = @{ lr = @{ low = 1e-4; high = 1e-1; distribution = 'loguniform' }; layers = @{ low = 2; high = 4; distribution = 'integer' } }
        $a = New-RaySweep -Grid $space -Random 25 -Seed 7
        $b = New-RaySweep -Grid $space -Random 25 -Seed 7
        $other = New-RaySweep -Grid $space -Random 25 -Seed 8
        $a.Count | Should -Be 25
        $b.ConfigHash | Should -Be $a.ConfigHash
        ($other.ConfigHash -join ',') | Should -Not -Be ($a.ConfigHash -join ',')
        $a.Config.lr | ForEach-Object { $_ | Should -BeGreaterOrEqual 1e-4; $_ | Should -BeLessOrEqual 0.1 }
        $a.Config.layers | ForEach-Object { $_ | Should -BeIn 2, 3, 4 }
    }

    It 'reads the sample stage file (tmgg''s stage shape)' {
        $c = New-RaySweep -Path (Join-Path $script:RepoRoot 'samples/stage.yaml')
        $c.Count | Should -Be 24
        $c[0].Label | Should -Be 'stage-demo-lr0.003-e3-s1'
        $c[0].Entrypoint | Should -Be 'python3 train.py {overrides}'
        $c[0].WorkingDirectory | Should -Be (Join-Path $script:RepoRoot 'samples')
    }

    # A sweep that cannot be made is the call's one input: a non-terminating error, no configs,
    # and -ErrorAction decides (issue 17: it used to throw past -ErrorAction SilentlyContinue).
    It 'refuses <Name> with <Id>, honouring -ErrorAction' -ForEach @(
        @{ Name = 'an empty value list'; Id = 'SweepEmpty'; Params = @{ Grid = @{ lr = @() } } }
        @{ Name = 'nothing to sweep'; Id = 'SweepEmpty'; Params = @{ Base = @{ lr = 1 } } }
        @{ Name = 'conflicting dotted keys'; Id = 'SweepKeyConflict'; Params = @{ Grid = @{ model = 'a', 'b'; 'model.k' = 1, 2 } } }
        @{ Name = 'a sweep above -MaxConfigs'; Id = 'SweepTooLarge'; Params = @{ Grid = @{ a = 1..100; b = 1..100 }; MaxConfigs = 9999 } }
        @{ Name = 'a range in a grid'; Id = 'SweepInvalid'; Params = @{ Grid = @{ lr = @{ low = 0.1; high = 1 } } } }
        @{ Name = 'a missing file'; Id = 'SweepFileNotFound'; Params = @{ Path = 'TestDrive:/nope.yaml' } }
    ) {
        $out = New-RaySweep @Params -ErrorAction SilentlyContinue -ErrorVariable failed
        $out | Should -BeNullOrEmpty
        $failed | Should -HaveCount 1
        $failed[0].FullyQualifiedErrorId | Should -BeLike "$Id,RayRunner.PowerShell.*"
        { New-RaySweep @Params -ErrorAction Stop } | Should -Throw -ErrorId "$Id,RayRunner.PowerShell.*"
    }

    It 'says a folder given as -Path is a folder, not that it does not exist' {
        { New-RaySweep -Path $TestDrive -ErrorAction Stop } | Should -Throw -ErrorId 'SweepFileNotFound,RayRunner.PowerShell.*' -ExpectedMessage '*is a folder, not a sweep file*'
    }

    It 'refuses an unknown key in a sweep file, naming it' {
        $f = Join-Path $TestDrive 'typo.yaml'
        "seeds: [1]`nhyperparamters: { lr: [1] }" | Set-Content $f
        { New-RaySweep -Path $f -ErrorAction Stop } | Should -Throw -ErrorId 'SweepUnknownKey,RayRunner.PowerShell.*' -ExpectedMessage "*'hyperparamters'*Did you mean 'hyperparameters'*"
    }

    It 'runs its help examples 1 to 4 as written' {
        $help = Get-Help New-RaySweep -Examples
        foreach ($example in @($help.Examples.Example)[0..3]) {
            $out = Invoke-Expression $example.Code
            @($out).Count | Should -BeGreaterThan 0 -Because $example.Code
        }
    }
}

Describe 'Launching a described sweep' {
    It '-WhatIf lists every config by label and starts nothing' {
        $before = @(Get-RayRun).Count
        New-RaySweep -Grid @{ lr = 0.1, 0.2 } | Start-RayExperiment -Entrypoint $script:Ep -WhatIf
        @(Get-RayRun).Count | Should -Be $before
    }

    It '-Filter and -First start a subset, in order' {
        $runs = New-RaySweep -Grid ([ordered]@{ lr = 0.1, 0.2, 0.3, 0.4; seed = 1, 2 }) |
            Start-RayExperiment -Entrypoint $script:Ep -SweepId subset -Filter { $_.Config.seed -eq 2 } -First 3
        $runs.Count | Should -Be 3
        $results = $runs | Wait-RayRun -Timeout 120 | Receive-RayRun
        $results.Config.lr | Should -Be 0.1, 0.2, 0.3
        $results.Config.seed | Should -Be 2, 2, 2
    }

    It '-Resume -RequireMetric runs again only configs whose completed run lacks the metric' {
        $count = Join-Path $TestDrive 'count.txt'
        $configs = New-RaySweep -Grid @{ lr = 0.1, 0.2 } -Base @{ count_file = $count }
        $null = $configs | Invoke-RayExperiment -Entrypoint $script:Ep -SweepId needs-metric
        (Get-Content $count).Count | Should -Be 2
        # Every run reported loss: nothing runs again.
        $again = $configs | Invoke-RayExperiment -Entrypoint $script:Ep -SweepId needs-metric -Resume -RequireMetric loss
        (Get-Content $count).Count | Should -Be 2
        $again.Count | Should -Be 2
        # No run reported val_loss: both run again, and the results are the new runs.
        $third = $configs | Invoke-RayExperiment -Entrypoint $script:Ep -SweepId needs-metric -Resume -RequireMetric val_loss
        (Get-Content $count).Count | Should -Be 4
        $third.RunId | Should -Not -BeIn $again.RunId
        { $configs | Start-RayExperiment -Entrypoint $script:Ep -RequireMetric loss } | Should -Throw -ErrorId 'ResumeNeedsSweepId,RayRunner.PowerShell.*'
    }

    It '-Resume -WhatIf names the run a completed config reuses and lists only the others as runs to start' {
        $done = @{ lr = 0.1 } | Invoke-RayExperiment -Entrypoint $script:Ep -SweepId preview
        $done.Status | Should -Be 'completed'
        # What if: lines go to the host, not to a stream: read them from another pwsh's output.
        . (Join-Path $PSScriptRoot 'ChildPwsh.ps1')
        $said = Invoke-ChildPwsh -Command ("Import-Module '$($script:ModulePath)'; " +
            "New-RaySweep -Grid @{ lr = 0.1, 0.2 } | Start-RayExperiment -Entrypoint 'unused {overrides}' -SweepId preview -Resume -WhatIf")
        $whatIf = @($said | Where-Object { $_ -like 'What if:*' })
        $whatIf | Should -HaveCount 2 -Because ($said -join "`n")
        $whatIf[0] | Should -BeLike "*Reuse run $($done.RunId), completed earlier*config #1: lr=0.1*"
        $whatIf[1] | Should -BeLike '*"Start experiment run"*config #2: lr=0.2*'
        @(Get-RayRun -SweepId preview) | Should -HaveCount 1 -Because '-WhatIf starts nothing'
    }
}

Describe 'Results as data' {
    BeforeAll {
        # The first config fails (no metrics at all), so a naive Export-Csv would lose every metric column.
        $script:Results = @{ fail = $true; lr = 0.5 }, @{ lr = 0.1 }, @{ lr = 0.2 } |
            Invoke-RayExperiment -Entrypoint $script:Ep -SweepId data
    }

    It 'Measure-RaySweep summarizes by tmgg''s rules' {
        $s = $script:Results | Measure-RaySweep
        $s.Total | Should -Be 3
        $s.Completed | Should -Be 2
        $s.Failed | Should -Be 1
        $s.SuccessRate | Should -BeGreaterThan 0.66
        $s.SuccessRate | Should -BeLessThan 0.67
        $s.Metric | Should -Be 'loss'
        $s.BestValue | Should -Be 1
        $s.BestRun.Config.lr | Should -Be 0.1
        (Measure-RaySweep -SweepId data -Metric acc -Maximize).BestRun.Config.lr | Should -Be 0.1
        $s.PSObject.TypeNames[0] | Should -Be 'RayRunner.SweepSummary'
    }

    It 'Measure-RaySweep shows both durations in one shape, days only when there are any' {
        $text = $script:Results | Measure-RaySweep | Format-List | Out-String
        $text | Should -Match 'MeanDuration\s+:\s+\d\d:\d\d:\d\d\.\d\r?\n'
        $text | Should -Match 'TotalDuration\s+:\s+\d\d:\d\d:\d\d\r?\n'
    }

    It 'Measure-RaySweep names a metric no run reports' {
        $s = $script:Results | Measure-RaySweep -Metric nope -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MetricNotFound,*'
        $s.BestRunId | Should -BeNullOrEmpty
    }

    It 'Sort-Object | Export-Csv keeps every column, with the config as JSON' {
        $csv = Join-Path $TestDrive 'r.csv'
        $script:Results | Sort-Object { $_.Status -ne 'failed' } | Export-Csv $csv
        $rows = Import-Csv $csv
        $rows[0].Status | Should -Be 'failed'
        $rows[0].PSObject.Properties.Name | Should -Contain 'acc'
        $rows[1].acc | Should -Not -BeNullOrEmpty
        ($rows[1].Config | ConvertFrom-Json).lr | Should -BeIn 0.1, 0.2
    }

    It 'ConvertTo-RayResultTable flattens config.* and metrics.* with the same columns on every row' {
        $rows = $script:Results | ConvertTo-RayResultTable
        $names = $rows | ForEach-Object { $_.PSObject.Properties.Name -join ',' } | Select-Object -Unique
        @($names).Count | Should -Be 1
        $rows[0].PSObject.Properties.Name | Should -Contain 'config.lr'
        $rows[0].PSObject.Properties.Name | Should -Contain 'metrics.acc'
        $rows[0].'metrics.acc' | Should -BeNullOrEmpty
        $rows[1].'metrics.loss' | Should -Be 1
        ($rows | ConvertTo-Json | ConvertFrom-Json)[2].'config.lr' | Should -Be 0.2
    }

    It 'the results table rounds swept numbers, so every swept setting fits in 80 columns' {
        $r = @{ lr = 0.0014773698956926; seed = 3 }, @{ lr = 0.0521339377; seed = 4 } |
            Invoke-RayExperiment -Entrypoint $script:Ep -SweepId wide-values
        $text = $r | Format-Table | Out-String -Width 80
        $text | Should -Match 'lr=0\.001477\b'
        $text | Should -Match 'seed=3'
        $text | Should -Not -Match '0\.0014773698956926'
        # The object keeps every digit.
        ($r[0] | Format-List | Out-String -Width 200) | Should -Match '0\.0014773698956926'
        # Three swept settings, as in samples/stage.yaml, fit whole beside a short duration.
        $three = @{ epochs = 3; seed = 1; lr = 0.001 }, @{ epochs = 8; seed = 2; lr = 0.01 } |
            Invoke-RayExperiment -Entrypoint $script:Ep -SweepId three-axes
        $lines = ($three | Format-Table | Out-String -Width 80) -split "`n" | Where-Object { $_ -match 'completed' }
        $lines[0] | Should -Match 'lr=0\.001\b'
        $lines[0] | Should -Match '\b\d+\.\ds\b' -Because 'the duration is short, in seconds'
        $lines[0] | Should -Not -Match '…'
    }

    It 'an unknown sweep is an error and makes nothing: no summary, no rows, no report file' {
        $page = Join-Path $TestDrive 'nosuch.html'
        $s = Measure-RaySweep -SweepId nosuch -ErrorVariable e1 -ErrorAction SilentlyContinue
        $rows = ConvertTo-RayResultTable -SweepId nosuch -ErrorVariable e2 -ErrorAction SilentlyContinue
        Export-RaySweepReport -SweepId nosuch -Path $page -ErrorVariable e3 -ErrorAction SilentlyContinue
        foreach ($e in $e1, $e2, $e3) { $e[0].FullyQualifiedErrorId | Should -BeLike 'RunNotFound,*' }
        $s | Should -BeNullOrEmpty
        $rows | Should -BeNullOrEmpty
        Test-Path $page | Should -BeFalse
    }

    It '-SweepId takes wildcards as Get-RayRun''s does: one summary per matching sweep, rows of them all' {
        $null = @{ lr = 0.1 }, @{ lr = 0.2 } | Invoke-RayExperiment -Entrypoint $script:Ep -SweepId wild-a
        $null = @{ lr = 0.3 } | Invoke-RayExperiment -Entrypoint $script:Ep -SweepId wild-b
        $summaries = Measure-RaySweep -SweepId 'WILD-*' -ErrorAction Stop
        $summaries.SweepId | Should -Be @('wild-a', 'wild-b') -Because 'each sweep in the order it began'
        $summaries.Total | Should -Be @(2, 1)
        $summaries[0].BestRun.Config.lr | Should -Be 0.1
        (ConvertTo-RayResultTable -SweepId 'wild-?' -ErrorAction Stop).'config.lr' | Should -Be @(0.1, 0.2, 0.3)
        (Get-Command Measure-RaySweep).Parameters['SweepId'].Attributes.TypeId.Name | Should -Contain 'SupportsWildcardsAttribute'
        # As with Get-RayRun: a pattern that matches nothing is no error; a literal id that matches nothing is.
        Measure-RaySweep -SweepId 'no-such-*' -ErrorAction Stop | Should -BeNullOrEmpty
        $s = Measure-RaySweep -SweepId 'wild-a', 'wild-c' -ErrorVariable err -ErrorAction SilentlyContinue
        $s.SweepId | Should -Be 'wild-a'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RunNotFound,*'
        $err[0].Exception.Message | Should -BeLike "*'wild-c'*"
    }

    It 'a resumed sweep counts each config once, by its latest run' {
        $configs = @{ fail = $true; lr = 0.7 }, @{ lr = 0.3 }
        $null = $configs | Invoke-RayExperiment -Entrypoint $script:Ep -SweepId resumed
        # The failed config runs again (now without the failure); the completed one is skipped.
        $null = @{ lr = 0.7; fail = $false }, @{ lr = 0.3 } | Invoke-RayExperiment -Entrypoint $script:Ep -SweepId resumed -Resume
        @(Get-RayRun -SweepId resumed).Count | Should -Be 3
        $s = Measure-RaySweep -SweepId resumed
        $s.Total | Should -Be 3 -Because 'fail=$false is another config than fail=$true: three configs, each counted once'
        $again = @{ fail = $true; lr = 0.7 } | Invoke-RayExperiment -Entrypoint $script:Ep -SweepId resumed -Resume
        $again.Status | Should -Be 'failed'
        (Measure-RaySweep -SweepId resumed).Total | Should -Be 3 -Because 'the failed config ran again: its latest run replaces the old one'
        @(Get-RayRun -SweepId resumed).Count | Should -Be 4
    }

    It 'a run is not a result: NotAResult says to pipe through Receive-RayRun' {
        $null = Get-RayRun -SweepId data | Measure-RaySweep -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NotAResult,*'
        $err[0].Exception.Message | Should -BeLike '*Receive-RayRun*'
    }

    It 'Export-RaySweepReport writes one self-contained page, and honours -WhatIf and -NoClobber' {
        $page = Join-Path $TestDrive 'data.html'
        $script:Results | Export-RaySweepReport $page -WhatIf
        Test-Path $page | Should -BeFalse
        $file = $script:Results | Export-RaySweepReport $page -PassThru
        $file.FullName | Should -Be $page
        $html = Get-Content $page -Raw
        $html | Should -Match "Content-Security-Policy\S* content=`"default-src 'none'"
        $html | Should -Not -Match '(src|href)="https?:'
        ([regex]::Matches($html, '<tr data-run=')).Count | Should -Be 3
        { $script:Results | Export-RaySweepReport $page -NoClobber } | Should -Throw -ErrorId 'ReportWriteFailed,RayRunner.PowerShell.*'
    }

    It 'Export-RaySweepReport into a folder that does not exist names that folder and writes nothing' {
        $folder = Join-Path $TestDrive 'no-such-folder'
        $err = { $script:Results | Export-RaySweepReport (Join-Path $folder 'r.html') } | Should -Throw -ErrorId 'ReportWriteFailed,RayRunner.PowerShell.*' -PassThru
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err.Exception.Message | Should -BeLike "*The folder '$folder' does not exist*New-Item -ItemType Directory*"
        $err.Exception.Message | Should -Not -Match '\.tmp'
        Test-Path $folder | Should -BeFalse
    }
}

Describe 'The whole flow, as a new user runs it' {
    It 'New-RaySweep -Path stage.yaml | Invoke-RayExperiment -SweepId s1 | Export-RaySweepReport report.html, from another folder in a new pwsh' {
        $work = Join-Path $TestDrive 'elsewhere'
        New-Item -ItemType Directory $work | Out-Null
        $stage = Join-Path $script:RepoRoot 'samples/stage.yaml'
        # pwsh itself (under `dotnet pwsh` this process is dotnet, which would not take -Command).
        $pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
        if (-not (Test-Path $pwsh)) { $pwsh = (Get-Process -Id $PID).Path }
        $script = "Import-Module '$($script:ModulePath)'; Set-Location '$work'; " +
            "New-RaySweep -Path '$stage' | Invoke-RayExperiment -SweepId s1 -WarningAction SilentlyContinue | Export-RaySweepReport report.html; " +
            "Measure-RaySweep -SweepId s1 | ConvertTo-Json -Depth 1 -WarningAction SilentlyContinue"
        $out = & $pwsh -NoProfile -NonInteractive -Command $script
        $LASTEXITCODE | Should -Be 0
        $summary = ($out | Where-Object { $_ -notmatch '^\s*WARNING' }) -join "`n" | ConvertFrom-Json
        $summary.Total | Should -Be 24
        $summary.Failed | Should -Be 6       # lr = 30 diverges (loss Infinity), for every epochs and seed
        $summary.Completed | Should -Be 18
        $summary.BestRunId | Should -Not -BeNullOrEmpty
        $html = Get-Content (Join-Path $work 'report.html') -Raw
        ([regex]::Matches($html, '<tr data-run=')).Count | Should -Be 24
        $html | Should -Match 'svg class="chart pc"'
    }
}
