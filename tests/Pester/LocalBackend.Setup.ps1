# Dot-sourced in the BeforeAll of the Pester files that drive the local backend through the staged
# module (RayRunner.Tests.ps1, OtherSessions.Tests.ps1): imports the module as installed, points
# RAYRUNNER_HOME into TestDrive (runs never touch the user's store), and defines $script:Ep (the
# python experiment in assets/) and Connect-Local. Their AfterAll calls Restore-LocalBackendSession.

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

function script:Restore-LocalBackendSession {
    Disconnect-RayCluster -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Module RayRunner -ErrorAction SilentlyContinue
    $env:RAYRUNNER_HOME = $script:SavedHome
    $env:PSModulePath = $script:SavedModulePath
}
