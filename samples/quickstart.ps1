<#
.SYNOPSIS
    RayRunner quickstart: sweep a toy experiment and show the results and the best run.

.DESCRIPTION
    Runs samples/train.py once per config (3 learning rates x 2 seeds by default), as many at a
    time as -MaxConcurrent allows, on the local process backend: no Ray needed. Waits for every run,
    then prints a table of RunId, Status, Duration and loss, and the run with the lowest loss.

    Two ways to run it:
      dotnet run --project samples/Quickstart      (needs only the .NET SDK and Python 3)
      pwsh samples/quickstart.ps1                  (after ./build.ps1 Build)

    The script uses only the PowerShell language and core cmdlets, so it also runs in a host that
    embeds the engine without Microsoft.PowerShell.Utility (no Format-Table, Sort-Object, Write-Host).

.PARAMETER Backend
    Local (the default here, so the quickstart behaves the same everywhere), Auto (Ray when a
    cluster answers or `ray` is on PATH, else Local), or Ray.

.PARAMETER Python
    The Python 3 to run train.py with; by default python3, else python, from PATH.

.EXAMPLE
    pwsh samples/quickstart.ps1 -MaxConcurrent 2

.EXAMPLE
    pwsh samples/quickstart.ps1 -LearningRates 0.05,0.2 -Seeds 1,2,3 -Epochs 10
#>
[CmdletBinding()]
param(
    [ValidateSet('Local', 'Auto', 'Ray')]
    [string] $Backend = 'Local',

    [ValidateRange(1, 256)]
    [int] $MaxConcurrent = 3,

    [double[]] $LearningRates = @(0.001, 0.01, 0.1),

    [int[]] $Seeds = @(1, 2),

    [ValidateRange(1, 1000)]
    [int] $Epochs = 5,

    [string] $Python
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

# A loss for the table: fixed decimals, or scientific notation when it is huge (a diverged run).
function Format-Loss([object] $Value) {
    if ($null -eq $Value) { return '-' }
    $number = [double] $Value
    $pattern = if ([double]::IsNaN($number) -or [math]::Abs($number) -lt 1e6) { '0.000000' } else { '0.###e+0' }
    return $number.ToString($pattern, [cultureinfo]::InvariantCulture)
}

# Python 3: the given path, else python3, else python; each candidate is asked its version, which
# also skips the Windows Store stub that only opens the Store.
function Find-Python3([string] $Given) {
    $names = if ($Given) { @($Given) } else { @('python3', 'python') }
    foreach ($name in $names) {
        foreach ($command in @(Get-Command $name -CommandType Application -ErrorAction SilentlyContinue)) {
            $path = $command.Source
            try {
                $major = & $path -c 'import sys; print(sys.version_info[0])' 2>$null
                if ($LASTEXITCODE -eq 0 -and "$major".Trim() -eq '3') { return $path }
            } catch {
                # not runnable: try the next one
            }
        }
    }
    $tried = if ($Given) { "'$Given' is not a runnable Python 3" } else { 'neither python3 nor python on PATH is a runnable Python 3' }
    throw "Python 3 was not found: $tried. Install Python 3, or pass -Python <path to python>."
}

# 1. The module: imported already by the Quickstart host, else the staged build.
if (-not (Get-Command Connect-RayCluster -ErrorAction SilentlyContinue)) {
    $loaded = @(Get-Module RayRunner)
    if ($loaded.Count -gt 0) {
        throw "The RayRunner module loaded from $($loaded[0].Path) has no Connect-RayCluster command: it was built from sources without the cmdlets. Rebuild from a complete checkout."
    }
    $staged = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', 'out', 'RayRunner', 'RayRunner.psd1'))
    if (-not [System.IO.File]::Exists($staged)) {
        throw "The RayRunner module is not loaded and no build was found at $staged. Build it first (./build.ps1 Build), or run: dotnet run --project samples/Quickstart"
    }
    Import-Module $staged
}

# 2. The sweep: every learning rate with every seed.
$configs = foreach ($lr in $LearningRates) {
    foreach ($seed in $Seeds) {
        [ordered]@{ lr = $lr; seed = $seed; epochs = $Epochs }
    }
}

$cluster = Connect-RayCluster -Backend $Backend -MaxConcurrent $MaxConcurrent
# On a Ray cluster the job runs on the cluster's own Python; locally, on the one found here.
$pythonCommand = if ($cluster.Backend -eq 'ray') { 'python' } else { Find-Python3 $Python }
$entrypoint = "`"$pythonCommand`" train.py {overrides}"

"Running $(@($configs).Count) configs of samples/train.py, at most $MaxConcurrent at a time ($($cluster.Backend) backend)..."
$started = [DateTime]::UtcNow
try {
    $results = @($configs | Invoke-RayExperiment -Entrypoint $entrypoint -WorkingDirectory $PSScriptRoot -TimeoutSeconds 300)
}
finally {
    Disconnect-RayCluster
}
$elapsed = ([DateTime]::UtcNow - $started).TotalSeconds

# 3. The table, formatted by hand (no Format-Table in a minimal host).
$rows = foreach ($result in $results) {
    [pscustomobject]@{
        RunId    = $result.RunId
        Status   = $result.Status
        Duration = $result.DurationSeconds
        Loss     = if ($result.Metrics.Contains('loss')) { [double] $result.Metrics['loss'] } else { $null }
        Lr       = $result.Config['lr']
        Seed     = $result.Config['seed']
        Error    = $result.ErrorMessage
    }
}

$format = '{0,-10} {1,-10} {2,9} {3,12} {4,8} {5,5}'
''
$format -f 'RunId', 'Status', 'Duration', 'loss', 'lr', 'seed'
$format -f '-----', '------', '--------', '----', '--', '----'
foreach ($row in $rows) {
    $loss = Format-Loss $row.Loss
    $duration = $row.Duration.ToString('0.00', [cultureinfo]::InvariantCulture) + 's'
    $format -f $row.RunId, $row.Status, $duration, $loss, $row.Lr, $row.Seed
}
''

foreach ($row in $rows) {
    if ($row.Status -ne 'completed') { "Run $($row.RunId) $($row.Status): $($row.Error)" }
}

$best = $null
foreach ($row in $rows) {
    if ($row.Status -eq 'completed' -and $null -ne $row.Loss -and -not [double]::IsNaN($row.Loss) -and ($null -eq $best -or $row.Loss -lt $best.Loss)) {
        $best = $row
    }
}
$completed = @($rows | Where-Object { $_.Status -eq 'completed' }).Count
"$completed of $(@($rows).Count) runs completed in $($elapsed.ToString('0.0', [cultureinfo]::InvariantCulture))s."
if ($null -eq $best) {
    throw 'No run completed with a loss; see the errors above.'
}
"Best run: $($best.RunId)  loss=$(Format-Loss $best.Loss)  lr=$($best.Lr)  seed=$($best.Seed)"
