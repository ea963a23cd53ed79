#Requires -Version 7.0
<#
    Every PowerShell snippet of the documentation runs as written (issue 12): README's "From
    PowerShell" block from the repository root, every example of the cmdlet help
    (module/en-US/RayRunner.dll-Help.xml) and the command blocks of about_RayRunner, each set in a
    new PowerShell process, against the local backend. Examples whose remarks say "(Needs a Ray cluster.)" are skipped: no Ray here.
        Invoke-Pester ./tests/Pester/Docs.Tests.ps1

    The help examples are a tour, read top to bottom in one session as a user trying them would:
    later examples use what earlier ones made (the run 'baseline', $configs, $runs). The session
    starts in a folder holding samples/train.py as train.py, which the examples call, with the
    module on PSModulePath and 'pwsh' on PATH.
#>

BeforeDiscovery {
    $repoRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    . (Join-Path $PSScriptRoot 'DocSnippets.ps1')
    $script:AboutBlocks = @(Get-AboutCommandBlock (Join-Path $repoRoot 'module/en-US/about_RayRunner.help.txt') | ForEach-Object { @{ Name = $_.Name } })
    [xml] $maml = Get-Content -Raw (Join-Path $repoRoot 'module/en-US/RayRunner.dll-Help.xml')
    $ns = @{ command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'; dev = 'http://schemas.microsoft.com/maml/dev/2004/10'; maml = 'http://schemas.microsoft.com/maml/2004/10' }
    $script:Examples = foreach ($command in (Select-Xml -Xml $maml -XPath '//command:command' -Namespace $ns).Node) {
        $name = $command.details.name
        $n = 0
        foreach ($example in $command.examples.example) {
            $n++
            $remarks = ($example.remarks.para | ForEach-Object { "$_" }) -join ' '
            @{ Name = "$name example $n"; NeedsRay = $remarks -match '\(Needs a Ray cluster\.\)' }
        }
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'ChildPwsh.ps1')
    . (Join-Path $PSScriptRoot 'DocSnippets.ps1')

    # A folder with a 'pwsh' on PATH that starts the pwsh running these tests, for examples that call pwsh by name.
    function script:New-PwshShim([string] $Folder) {
        New-Item -ItemType Directory -Force -Path $Folder | Out-Null
        $start = Get-ChildPwshCommand
        if ($IsWindows) {
            Set-Content -Path (Join-Path $Folder 'pwsh.cmd') -Value ('@' + (($start | ForEach-Object { '"' + $_ + '"' }) -join ' ') + ' %*')
        } else {
            $shim = Join-Path $Folder 'pwsh'
            Set-Content -Path $shim -Value ("#!/bin/sh`nexec " + (($start | ForEach-Object { "'" + ($_ -replace "'", "'\''") + "'" }) -join ' ') + ' "$@"')
            chmod +x $shim
        }
    }
    $script:RepoRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $module = Join-Path $script:RepoRoot 'out/RayRunner'
    $script:Saved = @{ Home = $env:RAYRUNNER_HOME; ModulePath = $env:PSModulePath; Path = $env:PATH }

    # The folder a user would be in: train.py next to them, the module installed, pwsh on PATH.
    $script:Sandbox = Join-Path $TestDrive 'work'
    New-Item -ItemType Directory -Path $script:Sandbox | Out-Null
    Copy-Item (Join-Path $script:RepoRoot 'samples/train.py') $script:Sandbox
    $env:PSModulePath = (Split-Path -Parent $module) + [IO.Path]::PathSeparator + $env:PSModulePath
    if (-not (Get-Command pwsh -CommandType Application -ErrorAction SilentlyContinue)) {
        New-PwshShim (Join-Path $TestDrive 'bin')
        $env:PATH = (Join-Path $TestDrive 'bin') + [IO.Path]::PathSeparator + $env:PATH
    }

    # Runs snippets in order in one new session; one JSON line per snippet says how it went:
    # the errors it wrote (or threw), and the runs it showed that did not complete.
    $script:Runner = Join-Path $TestDrive 'run-snippets.ps1'
    Set-Content -Path $script:Runner -Value @'
param([string] $SnippetFile, [string] $Location)
Set-Location $Location
$ProgressPreference = 'SilentlyContinue'
foreach ($snippet in (Get-Content -Raw $SnippetFile | ConvertFrom-Json)) {
    $Error.Clear()
    $thrown = $null
    $shown = @()
    if (-not $snippet.Skip) {
        try {
            $shown = @(. ([scriptblock]::Create($snippet.Code)))
            $null = $shown | Out-String -Width 80    # the default views format without error
        } catch { $thrown = "$_" }
    }
    $failed = @($shown | Where-Object { $_.PSObject.TypeNames[0] -in 'RayRunner.ExperimentResult', 'RayRunner.RayRun' -and $_.Status -in 'failed', 'timeout' } |
        ForEach-Object { "$($_.RunId) $($_.Status): $($_.ErrorMessage)" })
    [pscustomobject]@{ Name = $snippet.Name; Errors = @($Error | ForEach-Object { "$_" }) + @($thrown | Where-Object { $_ }); FailedRuns = $failed; Shown = $shown.Count } |
        ConvertTo-Json -Compress -Depth 3
}
'@

    function script:Invoke-Snippets([object[]] $Snippets, [string] $Location, [string] $StoreName) {
        $file = Join-Path $TestDrive "$StoreName.json"
        ConvertTo-Json -InputObject $Snippets -Depth 3 | Set-Content -Path $file
        $env:RAYRUNNER_HOME = Join-Path $TestDrive $StoreName
        $lines = Invoke-ChildPwsh -File $script:Runner $file $Location 2>&1
        $outcomes = @{}
        foreach ($line in $lines) {
            if ("$line" -match '^\{"Name"') { $o = "$line" | ConvertFrom-Json; $outcomes[$o.Name] = $o }
        }
        if ($outcomes.Count -ne $Snippets.Count) { throw "The snippets did not all run; the session said:`n$($lines -join "`n")" }
        $outcomes
    }

    # README: the PowerShell block under "From PowerShell", from the repository root.
    $readme = Get-Content -Raw (Join-Path $script:RepoRoot 'README.md')
    if ($readme -notmatch '(?s)## From PowerShell.*?```powershell\r?\n(.*?)```') { throw 'README has no PowerShell block under "From PowerShell".' }
    $script:ReadmeOutcome = (Invoke-Snippets @(@{ Name = 'README'; Code = $Matches[1]; Skip = $false }) $script:RepoRoot 'readme-home')['README']

    # Help: every example, in the order of the help file.
    [xml] $maml = Get-Content -Raw (Join-Path $script:RepoRoot 'module/en-US/RayRunner.dll-Help.xml')
    $snippets = foreach ($command in $maml.helpItems.command) {
        $n = 0
        foreach ($example in $command.examples.example) {
            $n++
            $remarks = ($example.remarks.para | ForEach-Object { "$_" }) -join ' '
            @{ Name = "$($command.details.name) example $n"; Code = $example.code; Skip = $remarks -match '\(Needs a Ray cluster\.\)' }
        }
    }
    $script:HelpOutcomes = Invoke-Snippets @($snippets) $script:Sandbox 'help-home'

    # about_RayRunner: its command blocks, in order, in the same kind of folder.
    $about = @(Get-AboutCommandBlock (Join-Path $script:RepoRoot 'module/en-US/about_RayRunner.help.txt') | ForEach-Object { @{ Name = $_.Name; Code = $_.Code; Skip = $false } })
    $script:AboutOutcomes = Invoke-Snippets $about $script:Sandbox 'about-home'
}

AfterAll {
    $env:RAYRUNNER_HOME = $script:Saved.Home
    $env:PSModulePath = $script:Saved.ModulePath
    $env:PATH = $script:Saved.Path
}

Describe 'README' {
    It 'runs its PowerShell block as written, from the repository root' {
        $script:ReadmeOutcome.Errors | Should -BeNullOrEmpty
        $script:ReadmeOutcome.FailedRuns | Should -BeNullOrEmpty
        $script:ReadmeOutcome.Shown | Should -BeGreaterThan 0
    }
}

Describe 'Help examples' {
    It '<Name> runs as written' -ForEach $script:Examples -Skip:$false {
        if ($NeedsRay) { Set-ItResult -Skipped -Because 'it needs a Ray cluster, and there is none here'; return }
        $outcome = $script:HelpOutcomes[$Name]
        $outcome.Errors | Should -BeNullOrEmpty
        $outcome.FailedRuns | Should -BeNullOrEmpty
    }
}

Describe 'about_RayRunner' {
    It '<Name> runs as written' -ForEach $script:AboutBlocks {
        $outcome = $script:AboutOutcomes[$Name]
        $outcome.Errors | Should -BeNullOrEmpty
        $outcome.FailedRuns | Should -BeNullOrEmpty
    }
}
