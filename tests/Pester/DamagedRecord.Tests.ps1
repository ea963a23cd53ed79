#Requires -Version 7.0
<#
    A run whose run.json is damaged, met by the cmdlets that follow a run (new-user trial 3):
    Wait-RayRun, Receive-RayRun and Get-RayRunLog say the record is damaged (RunRecordDamaged) and
    what to do, in a session with a connection and in one without, where they also connect to
    nothing. Before, Wait-RayRun threw a bare KeyNotFoundException, Receive-RayRun connected (Auto,
    with a warning about Ray) and then said the run had not finished, and Get-RayRunLog said it "ran
    on the  backend". Each step in its own pwsh process and folder, over one RAYRUNNER_HOME.
        Invoke-Pester ./tests/Pester/DamagedRecord.Tests.ps1 -Output Detailed
    Needs a built solution (dotnet build RayRunner.sln) and python3. Every wait is bounded.
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'ChildPwsh.ps1')
    . (Join-Path $PSScriptRoot 'RayStandIn.Helpers.ps1')
    $repoRoot = Get-RepoRoot
    $script:ModulePath = if ($env:RAYRUNNER_MODULE_PATH) { $env:RAYRUNNER_MODULE_PATH } else { Join-Path $repoRoot 'out/RayRunner/RayRunner.psd1' }
    $script:SavedHome = $env:RAYRUNNER_HOME
    $script:Python = (Get-Command python3, python -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source
    $env:RAYRUNNER_HOME = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'home') -Force).FullName

    function script:New-Folder([string] $Name) { (New-Item -ItemType Directory -Path (Join-Path $TestDrive $Name) -Force).FullName }

    # Runs $Body in a new pwsh in $Folder with the module imported; returns what it wrote as JSON
    # (the last line of stdout) and its stderr.
    function script:Invoke-Session {
        param([Parameter(Mandatory)] [string] $Folder, [Parameter(Mandatory)] [string] $Body)
        $script = "`$ErrorActionPreference = 'Stop'`nImport-Module '$($script:ModulePath)'`n$Body"
        $r = Invoke-ChildPwshScript -Script $script -WorkingDirectory $Folder -TimeoutSec 180
        $last = ($r.Stdout -split "`n" | Where-Object { $_.Trim() } | Select-Object -Last 1)
        [pscustomobject]@{ ExitCode = $r.ExitCode; Out = $(if ($last) { try { $last | ConvertFrom-Json } catch { $null } }); Stdout = $r.Stdout; Stderr = $r.Stderr }
    }

    # What Wait-RayRun, Receive-RayRun and Get-RayRunLog do with the run, as one JSON line.
    function script:Follow-Body([string] $Id, [string] $Before = '') {
        @"
$Before
`$waited = @(Wait-RayRun -RunId $Id -Timeout 60 -ErrorAction SilentlyContinue -ErrorVariable waitErr -WarningAction SilentlyContinue)
`$received = @(Receive-RayRun -RunId $Id -ErrorAction SilentlyContinue -ErrorVariable receiveErr -WarningVariable receiveWarned -WarningAction SilentlyContinue)
`$log = @(Get-RayRunLog -RunId $Id -ErrorAction SilentlyContinue -ErrorVariable logErr)
@{ Waited = `$waited.Count; Received = `$received.Count; Log = `$log.Count
   WaitErr = @(`$waitErr | ForEach-Object { `$_.FullyQualifiedErrorId + ' | ' + `$_.CategoryInfo.Category + ' | ' + `$_ })
   ReceiveErr = @(`$receiveErr | ForEach-Object { `$_.FullyQualifiedErrorId + ' | ' + `$_ })
   LogErr = @(`$logErr | ForEach-Object { `$_.FullyQualifiedErrorId + ' | ' + `$_ })
   Warned = "`$receiveWarned"; Connected = [bool](Get-RayCluster -ErrorAction SilentlyContinue) } | ConvertTo-Json -Compress
"@
    }

    $started = Invoke-Session -Folder (New-Folder 'a') -Body @"
`$null = Connect-RayCluster -Backend Local
(@{ n = 1 } | Invoke-RayExperiment -Entrypoint "'$($script:Python)' -c 'print(1)'" -ProgressAction SilentlyContinue).RunId | ConvertTo-Json -Compress
"@
    $started.ExitCode | Should -Be 0 -Because $started.Stderr
    $script:Victim = $started.Out
    Set-Content -LiteralPath (Join-Path $env:RAYRUNNER_HOME "runs/$($script:Victim)/run.json") -Value ('{"run_id": "' + $script:Victim + '", "spec": {"config": [1,')
}

AfterAll { $env:RAYRUNNER_HOME = $script:SavedHome }

Describe 'Following a run whose record is damaged' {
    It 'is a RunRecordDamaged error from each cmdlet in a session without a connection, which connects to nothing' {
        $seen = Invoke-Session -Folder (New-Folder 'b') -Body (Follow-Body $script:Victim)
        $seen.ExitCode | Should -Be 0 -Because $seen.Stderr
        $seen.Out.Waited + $seen.Out.Received + $seen.Out.Log | Should -Be 0
        $seen.Out.WaitErr | Should -HaveCount 1
        $seen.Out.WaitErr[0] | Should -BeLike 'RunRecordDamaged,*| InvalidData |*damaged*Remove-RayRun -Force*'
        $seen.Out.ReceiveErr | Should -HaveCount 1
        $seen.Out.ReceiveErr[0] | Should -BeLike 'RunRecordDamaged,*'
        $seen.Out.LogErr | Should -HaveCount 1
        $seen.Out.LogErr[0] | Should -BeLike 'RunRecordDamaged,*'
        $seen.Out.Warned | Should -BeNullOrEmpty
        $seen.Out.Connected | Should -BeFalse
    }

    It 'is the same error in a session connected to the local backend' {
        $seen = Invoke-Session -Folder (New-Folder 'c') -Body (Follow-Body $script:Victim -Before '$null = Connect-RayCluster -Backend Local')
        $seen.ExitCode | Should -Be 0 -Because $seen.Stderr
        $seen.Out.Waited + $seen.Out.Received + $seen.Out.Log | Should -Be 0
        $seen.Out.WaitErr | Should -HaveCount 1
        $seen.Out.WaitErr[0] | Should -BeLike 'RunRecordDamaged,*'
        $seen.Out.ReceiveErr | Should -HaveCount 1
        $seen.Out.ReceiveErr[0] | Should -BeLike 'RunRecordDamaged,*'
        $seen.Out.LogErr | Should -HaveCount 1
        $seen.Out.LogErr[0] | Should -BeLike 'RunRecordDamaged,*'
    }
}
