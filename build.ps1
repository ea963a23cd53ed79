#Requires -Version 5.1
<#
.SYNOPSIS
    Builds, stages, tests, packages and demonstrates the RayRunner module.

.DESCRIPTION
    Tasks (run in the order given):
      Build    dotnet build of the solution with warnings as errors. The build itself stages the
               importable module into out/RayRunner/ (an MSBuild target in src/RayRunner), so a
               plain `dotnet build` does the same on machines without pwsh.
      Test     Build, then the xUnit suite (results: out/TestResults/unit.trx) and, when Pester 5
               is installed, the Pester suite in a child pwsh process (results:
               out/TestResults/pester.xml, NUnit or JUnit XML).
      Package  Build in Release and zip out/RayRunner into out/RayRunner-<version>.zip.
      Demo     Build, then run samples/quickstart.ps1 (or a small sweep of the Pester test
               experiment when the sample is not there) against the staged module.

.EXAMPLE
    ./build.ps1 -Task Build, Test

.EXAMPLE
    ./build.ps1 -Task Package -Configuration Release
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Demo')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug',

    [ValidateSet('NUnitXml', 'JUnitXml')]
    [string] $TestResultFormat = 'NUnitXml',

    # Run only the Pester tests that do not need the given tags, e.g. -ExcludePesterTag LocalBackend.
    [string[]] $ExcludePesterTag = @()
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$RepoRoot = $PSScriptRoot
$OutDir = Join-Path $RepoRoot 'out'
$StagedModule = Join-Path $OutDir 'RayRunner'
$ResultsDir = Join-Path $OutDir 'TestResults'

function Invoke-Native {
    # Runs a native command and stops the build when it fails (native failures do not throw by themselves).
    param([Parameter(Mandatory)] [string] $Command, [string[]] $Arguments = @())
    Write-Host "> $Command $($Arguments -join ' ')" -ForegroundColor DarkGray
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) { throw "'$Command $($Arguments -join ' ')' failed with exit code $LASTEXITCODE." }
}

function Find-Pwsh {
    # The Pester suite runs in a child process: the build's own process must not load RayRunner.dll
    # (on Windows that would lock the file against the next build).
    $found = Get-Command pwsh -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($found) { $found.Source } else { $null }
}

function Invoke-BuildTask {
    param([string] $Config = $Configuration)
    Invoke-Native dotnet @('build', (Join-Path $RepoRoot 'RayRunner.sln'), '-c', $Config, '-warnaserror', '-nologo')
    $manifest = Join-Path $StagedModule 'RayRunner.psd1'
    if (-not (Test-Path $manifest)) { throw "The build did not stage the module: $manifest is missing." }
    Write-Host "Module staged in $StagedModule" -ForegroundColor Green
}

function Invoke-TestTask {
    Invoke-BuildTask
    New-Item -ItemType Directory -Force -Path $ResultsDir | Out-Null
    Invoke-Native dotnet @('test', (Join-Path $RepoRoot 'tests/Unit'), '-c', $Configuration, '--no-build', '--nologo',
        '--logger', 'trx;LogFileName=unit.trx', '--results-directory', $ResultsDir)

    $pwsh = Find-Pwsh
    $pester = Get-Module Pester -ListAvailable | Where-Object { $_.Version -ge [version]'5.0' } | Sort-Object Version -Descending | Select-Object -First 1
    if (-not $pwsh -or -not $pester) {
        Write-Warning 'Pester 5 (or pwsh) is not installed: the Pester suite was skipped. The xUnit suite still parses every Pester file.'
        return
    }
    $resultFile = Join-Path $ResultsDir 'pester.xml'
    $exclude = ($ExcludePesterTag | ForEach-Object { "'$_'" }) -join ','
    $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module Pester -MinimumVersion 5.0
`$config = New-PesterConfiguration
`$config.Run.Path = '$(Join-Path $RepoRoot 'tests/Pester')'
`$config.Run.Exit = `$true
`$config.Filter.ExcludeTag = @($exclude)
`$config.Output.Verbosity = 'Detailed'
`$config.TestResult.Enabled = `$true
`$config.TestResult.OutputFormat = '$TestResultFormat'
`$config.TestResult.OutputPath = '$resultFile'
`$env:RAYRUNNER_MODULE_PATH = '$(Join-Path $StagedModule 'RayRunner.psd1')'
Invoke-Pester -Configuration `$config
"@
    Invoke-Native $pwsh @('-NoProfile', '-NonInteractive', '-Command', $script)
    Write-Host "Pester results: $resultFile" -ForegroundColor Green
}

function Invoke-PackageTask {
    Invoke-BuildTask -Config Release
    $version = (Import-PowerShellDataFile (Join-Path $StagedModule 'RayRunner.psd1')).ModuleVersion
    $zip = Join-Path $OutDir "RayRunner-$version.zip"
    if (Test-Path $zip) { Remove-Item $zip -Force }
    # The zip holds the RayRunner folder itself, ready to unpack into a PSModulePath entry. The BCL
    # zip API, because Microsoft.PowerShell.Archive is not in every PowerShell installation.
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    [System.IO.Compression.ZipFile]::CreateFromDirectory($StagedModule, $zip, [System.IO.Compression.CompressionLevel]::Optimal, $true)
    Write-Host "Package: $zip" -ForegroundColor Green
}

function Invoke-DemoTask {
    Invoke-BuildTask
    $pwsh = Find-Pwsh
    if (-not $pwsh) { throw 'The demo needs pwsh on PATH (or run the sample host described in the README).' }
    $quickstart = Join-Path $RepoRoot 'samples/quickstart.ps1'
    if (Test-Path $quickstart) {
        Invoke-Native $pwsh @('-NoProfile', '-File', $quickstart)
        return
    }
    $python = Get-Command python3, python -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $python) { throw 'The demo needs python3 (or python) on PATH.' }
    $experiment = Join-Path $RepoRoot 'tests/Pester/assets/experiment.py'
    $script = @"
Import-Module '$(Join-Path $StagedModule 'RayRunner.psd1')'
Connect-RayCluster -Backend Local -MaxConcurrent 3 | Format-Table
`$configs = foreach (`$lr in 0.001, 0.01, 0.1) { foreach (`$seed in 1, 2) { [ordered]@{ lr = `$lr; seed = `$seed; sleep = 0.5 } } }
`$results = `$configs | Invoke-RayExperiment -Entrypoint "'$($python.Source)' '$experiment' {overrides}"
`$results | Format-Table
'Best run:'
`$results | Sort-Object loss | Select-Object -First 1 RunId, loss, @{ n = 'lr'; e = { `$_.Config.lr } }, @{ n = 'seed'; e = { `$_.Config.seed } } | Format-List
Disconnect-RayCluster -Confirm:`$false
"@
    Invoke-Native $pwsh @('-NoProfile', '-NonInteractive', '-Command', $script)
}

foreach ($name in $Task) {
    Write-Host "=== $name ===" -ForegroundColor Cyan
    switch ($name) {
        'Build' { Invoke-BuildTask }
        'Test' { Invoke-TestTask }
        'Package' { Invoke-PackageTask }
        'Demo' { Invoke-DemoTask }
    }
}
