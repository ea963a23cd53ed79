#Requires -Version 5.1
<#
.SYNOPSIS
    Builds, stages, tests, packages and demonstrates the RayRunner module.

.DESCRIPTION
    Tasks (run in the order given):
      Build    dotnet build of the solution with warnings as errors. The build itself stages the
               importable module into out/RayRunner/ (an MSBuild target in src/RayRunner), so a
               plain `dotnet build` does the same on machines without pwsh.
      Test     The README's test command. Build; compile Core and the module against .NET Framework
               4.7.2 (the Windows PowerShell 5.1 check); restore Pester (pinned, from NuGet); run the
               xUnit suite (out/TestResults/unit.trx, a hung test fails within -HangTimeout) and the
               Pester suite in a child pwsh (out/TestResults/pester.xml); end with one line
               "N passed, N failed" counted from both result files. Exits 1 when anything failed.
      Package  Build in Release and zip out/RayRunner into out/RayRunner-<version>.zip.
      Demo     Build, then run samples/quickstart.ps1 (or a small sweep of the Pester test
               experiment when the sample is not there) against the staged module.

.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 -Task Test

    Installs the pinned pwsh (a local dotnet tool) and runs both suites: what CI runs.

.EXAMPLE
    ./build.ps1 -Task Package -Configuration Release
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Demo')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug',

    # Run only the Pester tests that do not need the given tags, e.g. -ExcludePesterTag LocalBackend.
    [string[]] $ExcludePesterTag = @(),

    # How long one xUnit test may run before the blame collector kills the run and names it.
    [string] $HangTimeout = '5m'
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

function Get-ChildPwsh {
    # The pwsh that runs this script, to start child sessions: the Pester suite runs in one, so the
    # build's own process never loads RayRunner.dll (on Windows that would lock it against the next
    # build). $PSHOME holds the apphost in every install; under the dotnet tool, the process path is
    # `dotnet`, not pwsh. Windows PowerShell 5.1 (powershell.exe) cannot run Pester's suite (#Requires 7).
    $exe = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
    if ($PSVersionTable.PSEdition -eq 'Core' -and (Test-Path -LiteralPath $exe)) { return $exe }
    $found = Get-Command pwsh -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($found) { return $found.Source }
    throw 'The Pester suite needs PowerShell 7: run this script as `dotnet tool restore; dotnet pwsh ./build.ps1 -Task Test`.'
}

function Invoke-BuildTask {
    param([string] $Config = $Configuration)
    Invoke-Native dotnet @('build', (Join-Path $RepoRoot 'RayRunner.sln'), '-c', $Config, '-warnaserror', '-nologo')
    $manifest = Join-Path $StagedModule 'RayRunner.psd1'
    if (-not (Test-Path $manifest)) { throw "The build did not stage the module: $manifest is missing." }
    Write-Host "Module staged in $StagedModule" -ForegroundColor Green
}

function Get-PesterModulePath {
    # Pester comes from NuGet (there is no PowerShell Gallery on our machines), pinned by
    # build/tools/PesterRestore.csproj and restored into out/tools/packages; its module is in tools/.
    $project = Join-Path $RepoRoot 'build/tools/PesterRestore.csproj'
    Invoke-Native dotnet @('restore', $project, '--nologo', '-v', 'q')
    $version = ([xml](Get-Content -Raw $project)).Project.ItemGroup.PackageDownload.Version.Trim('[', ']')
    $psd1 = Join-Path $RepoRoot "out/tools/packages/pester/$version/tools/Pester.psd1"
    if (-not (Test-Path $psd1)) { throw "Pester $version was restored, but its module is not at $psd1." }
    $psd1
}

function Get-TestCounts {
    # Passed and failed from the result files themselves, never from console output.
    param([string] $Trx, [string] $PesterXml)
    $passed = 0; $failed = 0
    if (Test-Path $Trx) {
        $c = ([xml](Get-Content -Raw $Trx)).TestRun.ResultSummary.Counters
        $passed += [int]$c.passed
        $failed += [int]$c.total - [int]$c.passed - [int]$c.notExecuted
    }
    else { Write-Warning "xUnit wrote no result file ($Trx)."; $failed++ }
    if (Test-Path $PesterXml) {
        $r = ([xml](Get-Content -Raw $PesterXml)).'test-results'
        $bad = [int]$r.errors + [int]$r.failures + [int]$r.invalid
        $passed += [int]$r.total - $bad - [int]$r.'not-run' - [int]$r.inconclusive - [int]$r.ignored - [int]$r.skipped
        $failed += $bad
    }
    else { Write-Warning "Pester wrote no result file ($PesterXml)."; $failed++ }
    [pscustomobject]@{ Passed = $passed; Failed = $failed }
}

function Write-FailedTests {
    # CI keeps only the tail of the output: name each failed test and the first lines of its message
    # next to the closing line, so a failure far up the log is still diagnosable.
    param([string] $Trx, [string] $PesterXml)
    $lines = @()
    if (Test-Path $Trx) {
        $xml = [xml](Get-Content -Raw $Trx)
        foreach ($r in @($xml.TestRun.Results.UnitTestResult | Where-Object { $_ -and $_.outcome -notin 'Passed', 'NotExecuted' })) {
            $message = "$($r.Output.ErrorInfo.Message)".Trim() -split "`n" | Select-Object -First 6
            $lines += "xUnit  $($r.testName) [$($r.outcome), $($r.duration)]"
            $lines += $message | ForEach-Object { "         $_" }
        }
    }
    if (Test-Path $PesterXml) {
        $xml = [xml](Get-Content -Raw $PesterXml)
        foreach ($c in @($xml.SelectNodes('//test-case[@result="Failure" or @result="Error"]'))) {
            $message = "$($c.failure.message)".Trim() -split "`n" | Select-Object -First 6
            $lines += "Pester $($c.name) [$($c.result)]"
            $lines += $message | ForEach-Object { "         $_" }
        }
    }
    if ($lines) { Write-Host ("Failed tests:`n" + ($lines -join "`n")) -ForegroundColor Red }
}

function Invoke-TestTask {
    # The README's test command: both suites, one closing line "N passed, N failed". Each suite runs
    # even when the other failed; the script fails when anything did.
    Invoke-BuildTask
    # Windows PowerShell 5.1 cannot run here: compile Core and the module against .NET Framework 4.7.2.
    Invoke-Native dotnet @('build', (Join-Path $RepoRoot 'src/RayRunner/RayRunner.csproj'), '-c', $Configuration,
        '-p:NetFxCheck=true', '-warnaserror', '-nologo', '-v', 'q')
    $pester = Get-PesterModulePath
    $pwsh = Get-ChildPwsh
    if (Test-Path $ResultsDir) { Remove-Item -Recurse -Force $ResultsDir }
    New-Item -ItemType Directory -Force -Path $ResultsDir | Out-Null
    $trx = Join-Path $ResultsDir 'unit.trx'
    $pesterXml = Join-Path $ResultsDir 'pester.xml'
    $failures = @()

    # A hang fails the run within minutes and names the test (the blame collector), never the CI limit.
    & dotnet test (Join-Path $RepoRoot 'tests/Unit') -c $Configuration --no-build --nologo `
        --logger 'trx;LogFileName=unit.trx' --logger 'console;verbosity=normal' --results-directory $ResultsDir `
        --blame-hang-timeout $HangTimeout --blame-hang-dump-type none
    if ($LASTEXITCODE -ne 0) { $failures += "xUnit (exit code $LASTEXITCODE)" }

    $exclude = ($ExcludePesterTag | ForEach-Object { "'$_'" }) -join ','
    $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$pester'
`$config = New-PesterConfiguration
`$config.Run.Path = '$(Join-Path $RepoRoot 'tests/Pester')'
`$config.Run.Exit = `$true
`$config.Filter.ExcludeTag = @($exclude)
`$config.Output.Verbosity = 'Detailed'
`$config.TestResult.Enabled = `$true
`$config.TestResult.OutputFormat = 'NUnitXml'
`$config.TestResult.OutputPath = '$pesterXml'
`$env:RAYRUNNER_MODULE_PATH = '$(Join-Path $StagedModule 'RayRunner.psd1')'
Invoke-Pester -Configuration `$config
"@
    & $pwsh -NoProfile -NonInteractive -Command $script
    if ($LASTEXITCODE -ne 0) { $failures += "Pester (exit code $LASTEXITCODE)" }

    $counts = Get-TestCounts -Trx $trx -PesterXml $pesterXml
    Write-Host "Results: $ResultsDir"
    Write-FailedTests -Trx $trx -PesterXml $pesterXml
    if ($failures) { Write-Host ("Failed: " + ($failures -join ', ')) -ForegroundColor Red }
    # The closing line CI reads: nothing may be printed after it.
    Write-Host "$($counts.Passed) passed, $($counts.Failed) failed"
    if ($failures -or $counts.Failed -gt 0 -or $counts.Passed -eq 0) { exit 1 }
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
    $pwsh = Get-ChildPwsh
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
