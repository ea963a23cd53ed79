#Requires -Version 7.0
<#
    Retries as attempts of one run (issue 15, item 1), as a user meets them: a sweep whose runs fail
    now and then on their first try, started with -MaxRetries in one pwsh process, and looked at
    from another, new one in another folder, with no connection — every run completed, every failed
    attempt listed with its error and its own log. Over the staged module, the real local backend
    and one RAYRUNNER_HOME.
        Invoke-Pester ./tests/Pester/Retries.Tests.ps1 -Output Detailed
    Needs a built solution (dotnet build RayRunner.sln) and python3. Every wait is bounded.
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'ChildPwsh.ps1')
    . (Join-Path $PSScriptRoot 'RayStandIn.Helpers.ps1')
    $repoRoot = Get-RepoRoot
    $script:ModulePath = if ($env:RAYRUNNER_MODULE_PATH) { $env:RAYRUNNER_MODULE_PATH } else { Join-Path $repoRoot 'out/RayRunner/RayRunner.psd1' }
    $script:SavedHome = $env:RAYRUNNER_HOME
    $script:Python = (Get-Command python3, python -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source

    function script:New-Folder([string] $Name) { (New-Item -ItemType Directory -Path (Join-Path $TestDrive $Name) -Force).FullName }

    # Runs $Body in a new pwsh in $Folder with the module imported; returns what it wrote as JSON
    # (the last line of stdout), its stdout and its stderr.
    function script:Invoke-Session {
        param([Parameter(Mandatory)] [string] $Folder, [Parameter(Mandatory)] [string] $Body, [hashtable] $Environment = @{}, [int] $TimeoutSec = 300)
        $script = "`$ErrorActionPreference = 'Stop'`nImport-Module '$($script:ModulePath)'`n$Body"
        $r = Invoke-ChildPwshScript -Script $script -WorkingDirectory $Folder -Environment $Environment -TimeoutSec $TimeoutSec
        $last = ($r.Stdout -split "`n" | Where-Object { $_.Trim() } | Select-Object -Last 1)
        [pscustomobject]@{ ExitCode = $r.ExitCode; Out = $(if ($last) { try { $last | ConvertFrom-Json } catch { $null } }); Stdout = $r.Stdout; Stderr = $r.Stderr }
    }

    # An experiment that fails on its first try when its config says flaky=1: a marker file per
    # config remembers the try, as a node that was busy the first time would.
    $script:Flaky = Join-Path $TestDrive 'flaky.py'
    Set-Content -LiteralPath $script:Flaky -Value @'
import os, sys
args = dict(a.split("=", 1) for a in sys.argv[1:])
marker = os.path.join(os.environ["MARKERS"], args["n"] + ".tried")
print("attempt " + os.environ.get("RAYRUNNER_ATTEMPT", "1") + " of config n=" + args["n"], flush=True)
if args.get("flaky") == "1" and not os.path.exists(marker):
    open(marker, "w").close()
    print("transient failure on the first try of n=" + args["n"], file=sys.stderr, flush=True)
    sys.exit(3)
print('RAYRUNNER_RESULT {"status": "completed", "metrics": {"loss": 0.5}}')
'@
}

AfterAll {
    $env:RAYRUNNER_HOME = $script:SavedHome
}

Describe 'A sweep retried with -MaxRetries, looked at from a new session' {
    It 'completes all 20 runs, and a new pwsh lists the 2 failed attempts with their logs' {
        $env:RAYRUNNER_HOME = New-Folder 'home-retries'
        $markers = New-Folder 'markers'
        $environment = @{ MARKERS = $markers }

        # Session A: 20 runs, n=5 and n=15 fail on their first try (10%).
        $a = Invoke-Session -Folder (New-Folder 'session-a') -Environment $environment -Body @"
`$null = Connect-RayCluster -Backend Local -MaxConcurrent 4
`$configs = 1..20 | ForEach-Object { [ordered]@{ n = `$_; flaky = [int](`$_ % 10 -eq 5) } }
`$runs = `$configs | Start-RayExperiment -Entrypoint "'$($script:Python)' '$($script:Flaky)' {overrides}" -MaxRetries 2 -RetryOn failed
`$verbose = `$runs | Wait-RayRun -Timeout 240 -Verbose -ProgressAction SilentlyContinue 4>&1 | Where-Object { `$_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message
@{ Ids = @(`$runs.RunId); SweepId = `$runs[0].SweepId; Retried = @(`$verbose | Where-Object { `$_ -like '*retrying as attempt 2 of 3*' }) } | ConvertTo-Json -Compress -Depth 3
"@
        $a.ExitCode | Should -Be 0 -Because $a.Stderr
        $a.Out.Ids.Count | Should -Be 20
        $a.Out.Retried.Count | Should -Be 2 -Because 'each retry is said verbosely, with why'
        $a.Out.Retried | ForEach-Object { $_ | Should -Match 'attempt 1 ended failed: .*exited with code 3' }

        # Session B: a new process in another folder, never connected.
        $b = Invoke-Session -Folder (New-Folder 'session-b') -Environment $environment -Body @"
`$runs = Get-RayRun -SweepId $($a.Out.SweepId)
`$attempts = Get-RayRun -SweepId $($a.Out.SweepId) -IncludeAttempts
`$failed = @(`$attempts | Where-Object Status -EQ failed)
`$logs = `$failed | ForEach-Object { @{ RunId = `$_.RunId; Attempt = `$_.Attempt; Lines = @(`$_ | Get-RayRunLog | ForEach-Object { "`$_" }) } }
`$lastLog = @(Get-RayRunLog -RunId `$failed[0].RunId | ForEach-Object { "`$_" })
`$line = "Get-RayRunLog -RunId `$(`$failed[0].RunId) -Attempt "
`$completed = @((TabExpansion2 -inputScript `$line -cursorColumn `$line.Length).CompletionMatches.CompletionText)
@{ Statuses = @(`$runs.Status); Retried = @(`$runs | Where-Object Attempts -EQ 2 | ForEach-Object RunId); AttemptCount = @(`$attempts).Count;
   Failed = @(`$failed | ForEach-Object { @{ RunId = `$_.RunId; AttemptId = `$_.AttemptId; RetriedOn = `$_.RetriedOn; Error = `$_.ErrorMessage } });
   Logs = `$logs; LastLog = `$lastLog; AttemptCompletion = `$completed; Connected = [bool](Get-RayCluster -ErrorAction SilentlyContinue) } | ConvertTo-Json -Compress -Depth 5
"@
        $b.ExitCode | Should -Be 0 -Because $b.Stderr
        $b.Out.Connected | Should -BeFalse
        $b.Out.Statuses.Count | Should -Be 20
        $b.Out.Statuses | Should -Not -Contain 'failed'
        @($b.Out.Statuses | Where-Object { $_ -ne 'completed' }).Count | Should -Be 0
        $b.Out.Retried.Count | Should -Be 2
        $b.Out.AttemptCount | Should -Be 22 -Because 'one attempt per run, plus one for each retried run'
        $b.Out.Failed.Count | Should -Be 2
        foreach ($f in $b.Out.Failed) {
            $f.RunId | Should -BeIn $b.Out.Retried
            $f.AttemptId | Should -Be $f.RunId -Because 'the first attempt keeps the plain run id'
            $f.RetriedOn | Should -Be 'failed'
            $f.Error | Should -Match 'exited with code 3'
        }
        # Each failed attempt's own log, read from the store by the new session.
        foreach ($log in $b.Out.Logs) {
            $log.Attempt | Should -Be 1
            $log.Lines -join "`n" | Should -Match 'transient failure on the first try of n=\d+'
            @($log.Lines | Where-Object { $_ -like 'attempt 1 of config*' }).Count | Should -Be 1
        }
        # Without -Attempt, the run's log is its last attempt's: the retry that completed.
        $b.Out.LastLog -join "`n" | Should -Match 'attempt 2 of config n=\d+'
        $b.Out.LastLog -join "`n" | Should -Not -Match 'transient failure'
        # -Attempt completes the run's attempt numbers, not file names.
        $b.Out.AttemptCompletion | Should -Be @('1', '2')
    }
}

Describe '-MaxRetries and -RetryOn are checked and completed' {
    BeforeAll { Import-Module $script:ModulePath -Force }

    It 'refuses a reason that is not one and says which are' {
        { Start-RayExperiment -Config @{ a = 1 } -Entrypoint 'echo {overrides}' -MaxRetries 1 -RetryOn failed, oom -WhatIf } |
            Should -Throw -ExpectedMessage '*oom*failed*timeout*lost*'
    }

    It 'refuses more than 100 retries' {
        { Start-RayExperiment -Config @{ a = 1 } -Entrypoint 'echo {overrides}' -MaxRetries 101 -WhatIf } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,RayRunner.PowerShell.StartRayExperimentCommand'
    }

    It 'refuses a run id that looks like a retry attempt' {
        { Start-RayExperiment -Config @{ a = 1 } -Entrypoint 'echo {overrides}' -RunId 'baseline-a2' -WhatIf } |
            Should -Throw -ExpectedMessage "*ends like the id RayRunner gives a retry's attempts*"
    }

    It 'tab-completes the reasons' {
        $line = 'Start-RayExperiment -RetryOn '
        $found = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $found | Sort-Object | Should -Be @('failed', 'lost', 'timeout')
    }
}
