#Requires -Version 7.0
<#
    The listing index (issue 14d) across processes, as users meet it: a writer killed with kill -9
    while it records runs, a listing started meanwhile in another process, and a store changed by
    hand (a run folder deleted, a run.json damaged, the index cut mid-line), each listed by a new
    pwsh started in a different folder. The oracle is the run.json files themselves: Get-RayRun must
    list exactly what they say, whatever state the index was left in.
        Invoke-Pester ./tests/Pester/ListingIndex.Tests.ps1 -Output Detailed
    Needs a built solution (dotnet build RayRunner.sln). Every wait is bounded.
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'ChildPwsh.ps1')
    . (Join-Path $PSScriptRoot 'RayStandIn.Helpers.ps1')
    $repoRoot = Get-RepoRoot
    $script:ModulePath = if ($env:RAYRUNNER_MODULE_PATH) { $env:RAYRUNNER_MODULE_PATH } else { Join-Path $repoRoot 'out/RayRunner/RayRunner.psd1' }

    function script:New-TestFolder([string] $Name) { (New-Item -ItemType Directory -Path (Join-Path $TestDrive $Name) -Force).FullName }

    # A script that records runs through the store's own API, each queued then completed, as fast
    # as it can: the most index appends per second, so a kill lands between a record and its
    # summary line as often as anywhere. Writes runs $From, $From+$Step, ... up to $Count (0: forever).
    function script:Get-WriterScript([int] $From = 0, [int] $Step = 1, [int] $Count = 0, [string] $Done = '') {
        @"
`$ErrorActionPreference = 'Stop'
Import-Module '$($script:ModulePath)'
`$store = [RayRunner.Core.FileRunStore]::new(`$env:RAYRUNNER_HOME)
for (`$i = $From; $Count -eq 0 -or `$i -lt $Count; `$i += $Step) {
    `$id = 'w{0:D5}' -f `$i
    `$config = [System.Collections.Generic.Dictionary[string, object]]::new(); `$config['n'] = [long]`$i
    `$queued = [RayRunner.Core.RunRecord]@{ RunId = `$id; Status = 'queued'; UpdatedAt = [DateTimeOffset]::UtcNow
        Spec = [RayRunner.Core.RunSpecRecord]@{ Backend = 'local'; Entrypoint = 'x'; CreatedAt = [DateTimeOffset]::UtcNow; Config = `$config; SweepId = 'idx' } }
    `$null = `$store.Save(`$queued)
    `$null = `$store.Save(`$queued.With('completed', `$null, `$true, `$null, `$false, `$null, [RayRunner.Core.TaskOutput]@{ RunId = `$id; Status = 'completed' }))
}
if ('$Done') { Set-Content -LiteralPath '$Done' -Value done }
"@
    }

    function script:Start-Child([string] $Script, [string] $Folder, [string] $StoreHome) {
        $file = Join-Path $TestDrive ('child-' + [guid]::NewGuid().ToString('N').Substring(0, 8) + '.ps1')
        Set-Content -LiteralPath $file -Value $Script -Encoding utf8
        $command = @(Get-ChildPwshCommand)
        $psi = [System.Diagnostics.ProcessStartInfo]::new($command[0])
        foreach ($a in @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $file)) { $psi.ArgumentList.Add($a) }
        $psi.WorkingDirectory = $Folder
        $psi.UseShellExecute = $false
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $self = (Get-Process -Id $PID).Path
        if (-not $env:DOTNET_ROOT -and [System.IO.Path]::GetFileNameWithoutExtension($self) -eq 'dotnet') { $psi.Environment['DOTNET_ROOT'] = Split-Path -Parent $self }
        $psi.Environment['RAYRUNNER_HOME'] = $StoreHome
        [System.Diagnostics.Process]::Start($psi)
    }

    # Get-RayRun in a new pwsh, in $Folder, without connecting: "id=status" per run, and the warnings.
    function script:Get-Listed([string] $StoreHome, [string] $Folder) {
        $body = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$($script:ModulePath)'
`$runs = Get-RayRun -WarningVariable warned -WarningAction SilentlyContinue
@{ Runs = @(`$runs | ForEach-Object { "`$(`$_.RunId)=`$(`$_.Status)" }); Warned = @(`$warned | ForEach-Object { "`$_" }) } | ConvertTo-Json -Compress
"@
        $r = Invoke-ChildPwshScript -Script $body -WorkingDirectory $Folder -Environment @{ RAYRUNNER_HOME = $StoreHome } -TimeoutSec 120
        $r.ExitCode | Should -Be 0 -Because $r.Stderr
        ($r.Stdout -split "`n" | Where-Object { $_.Trim() } | Select-Object -Last 1) | ConvertFrom-Json
    }

    # What the run.json files say, the oracle: "id=status" for each readable one, "id=damaged" else.
    function script:Get-FromFiles([string] $StoreHome) {
        foreach ($folder in Get-ChildItem -LiteralPath (Join-Path $StoreHome 'runs') -Directory | Where-Object Name -NotLike '.*' | Sort-Object Name) {
            $file = Join-Path $folder.FullName 'run.json'
            if (-not (Test-Path -LiteralPath $file)) { continue }
            $record = try { Get-Content -Raw -LiteralPath $file | ConvertFrom-Json } catch { $null }
            $status = if (-not $record) { 'damaged' } elseif ($record.result) { $record.result.status } else { $record.status }
            "$($folder.Name)=$status"
        }
    }
}

Describe 'Get-RayRun over a store whose writer was killed, and one changed by hand' {
    It 'lists exactly what the run.json files say, from a new session in another folder' {
        $storeHome = New-TestFolder 'home-kill'
        $writer = Start-Child -Script (Get-WriterScript) -Folder (New-TestFolder 'writer') -StoreHome $storeHome
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            $runs = Join-Path $storeHome 'runs'
            while (-not ((Test-Path $runs) -and @(Get-ChildItem -LiteralPath $runs -Directory).Count -ge 40)) {
                if ($writer.HasExited) { throw "The writer ended early: $($writer.StandardError.ReadToEnd())" }
                if ([DateTime]::UtcNow -gt $deadline) { throw 'The writer made fewer than 40 runs in 120 s.' }
                $null = $writer.WaitForExit(50)
            }
        }
        finally {
            $writer.Kill() # SIGKILL: no clean-up of any kind, wherever it was
            $null = $writer.WaitForExit(30000)
        }

        $expected = @(Get-FromFiles $storeHome)
        $expected.Count | Should -BeGreaterOrEqual 40
        $listed = Get-Listed $storeHome (New-TestFolder 'reader-1')
        $listed.Runs | Sort-Object | Should -Be $expected
        # The only warning allowed: a run the kill left queued is an orphan (its writer is gone).
        $listed.Warned | Where-Object { $_ -notmatch 'IsOrphan' } | Should -BeNullOrEmpty

        # A writable session settles the index; the next listing must say the same.
        $settle = Invoke-ChildPwshScript -Script "Import-Module '$($script:ModulePath)'; [RayRunner.Core.FileRunStore]::new(`$env:RAYRUNNER_HOME).List().Count" `
            -WorkingDirectory (New-TestFolder 'settle') -Environment @{ RAYRUNNER_HOME = $storeHome } -TimeoutSec 120
        $settle.ExitCode | Should -Be 0 -Because $settle.Stderr
        (Get-Listed $storeHome (New-TestFolder 'reader-2')).Runs | Sort-Object | Should -Be $expected

        # Then by hand: a folder deleted, a run.json damaged, the index cut in the middle of a line.
        $ids = $expected | ForEach-Object { ($_ -split '=')[0] }
        Remove-Item -LiteralPath (Join-Path $runs $ids[3]) -Recurse -Force
        Set-Content -LiteralPath (Join-Path $runs "$($ids[5])/run.json") -Value ('{"run_id": "' + $ids[5] + '", "spec": {"config": [1,')
        $index = Join-Path $storeHome 'index.jsonl'
        $bytes = [System.IO.File]::ReadAllBytes($index)
        $cut = [int]($bytes.Length / 2); while ($bytes[$cut] -eq 10) { $cut++ }
        [System.IO.File]::WriteAllBytes($index, $bytes[0..($cut - 1)])

        $changed = @(Get-FromFiles $storeHome)
        $changed | Should -Contain "$($ids[5])=damaged"
        $changed | Should -Not -Contain $expected[3]
        $after = Get-Listed $storeHome (New-TestFolder 'reader-3')
        $after.Runs | Sort-Object | Should -Be ($changed | Sort-Object)
        "$($after.Warned)" | Should -Match $ids[5]
    }
}

Describe 'Get-RayRun while other processes write' {
    It 'never shows a run going back, and at the end shows every run as recorded' {
        $storeHome = New-TestFolder 'home-concurrent'
        $doneA = Join-Path $TestDrive 'done-a'; $doneB = Join-Path $TestDrive 'done-b'
        $writers = @(
            Start-Child -Script (Get-WriterScript -From 0 -Step 2 -Count 120 -Done $doneA) -Folder (New-TestFolder 'writer-a') -StoreHome $storeHome
            Start-Child -Script (Get-WriterScript -From 1 -Step 2 -Count 120 -Done $doneB) -Folder (New-TestFolder 'writer-b') -StoreHome $storeHome)
        # The lister lists until both writers are done, then once more, and reports what went wrong.
        $lister = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$($script:ModulePath)'
`$completed = @{}; `$bad = [System.Collections.Generic.List[string]]::new(); `$listings = 0
`$deadline = [DateTime]::UtcNow.AddSeconds(240)
do {
    `$last = (Test-Path '$doneA') -and (Test-Path '$doneB')
    if ([DateTime]::UtcNow -gt `$deadline) { throw 'The writers did not finish within 240 s.' }
    foreach (`$run in @(Get-RayRun)) {
        if (`$run.Status -notin 'queued', 'completed') { `$bad.Add("`$(`$run.RunId) listed `$(`$run.Status)") }
        elseif (`$run.Status -eq 'completed') { `$completed[`$run.RunId] = `$true }
        elseif (`$completed[`$run.RunId]) { `$bad.Add("`$(`$run.RunId) went back to queued") }
    }
    `$listings++
} until (`$last)
@{ Bad = @(`$bad); Listings = `$listings; Completed = `$completed.Count } | ConvertTo-Json -Compress
"@
        $r = Invoke-ChildPwshScript -Script $lister -WorkingDirectory (New-TestFolder 'lister') -Environment @{ RAYRUNNER_HOME = $storeHome } -TimeoutSec 300
        foreach ($w in $writers) {
            if (-not $w.WaitForExit(60000)) { $w.Kill(); throw 'A writer did not exit.' }
            $w.ExitCode | Should -Be 0 -Because $w.StandardError.ReadToEnd()
        }
        $r.ExitCode | Should -Be 0 -Because $r.Stderr
        $out = ($r.Stdout -split "`n" | Where-Object { $_.Trim() } | Select-Object -Last 1) | ConvertFrom-Json
        $out.Bad | Should -BeNullOrEmpty
        $out.Listings | Should -BeGreaterOrEqual 1
        $out.Completed | Should -Be 120
        (Get-Listed $storeHome (New-TestFolder 'reader-end')).Runs | Sort-Object | Should -Be @(Get-FromFiles $storeHome)
    }
}
