<#
    Helpers for tests/Pester/Ray.Tests.ps1 (dot-sourced in its BeforeAll): start and stop the Ray
    stand-in program (tests/RayStandIn, built by `dotnet build RayRunner.sln`), read its counters,
    and run a script in a separate pwsh process (needs tests/Pester/ChildPwsh.ps1 dot-sourced).
    Every wait here is bounded: a hang fails the test.
#>

function Get-RepoRoot { Split-Path -Parent (Split-Path -Parent $PSScriptRoot) }

# The built stand-in, newest first when several configurations were built; RAYSTANDIN_DLL overrides.
function Find-RayStandInDll {
    if ($env:RAYSTANDIN_DLL) { return $env:RAYSTANDIN_DLL }
    $bin = Join-Path (Get-RepoRoot) 'tests/RayStandIn/bin'
    $dll = Get-ChildItem $bin -Recurse -Filter RayStandIn.dll -ErrorAction SilentlyContinue |
        Where-Object { $_.Directory.Name -eq 'net10.0' } |
        Sort-Object LastWriteTimeUtc -Descending | Select-Object -First 1
    if (-not $dll) { throw "RayStandIn.dll is not under $bin. Build the solution first: dotnet build RayRunner.sln" }
    $dll.FullName
}

# The dotnet host: on PATH, else next to the running process when pwsh runs as a dotnet tool.
function Find-DotnetHost {
    $onPath = Get-Command dotnet -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($onPath) { return $onPath.Source }
    $self = (Get-Process -Id $PID).Path
    if ([System.IO.Path]::GetFileNameWithoutExtension($self) -eq 'dotnet') { return $self }
    throw "No 'dotnet' on PATH: the Ray stand-in is a .NET program (dotnet RayStandIn.dll)."
}

<#
    Starts the stand-in with the given options and returns its addresses once it printed them:
    Address (dashboard), Control (GET /state, POST /stop), CliControl and ArgvLog (with --cli).
    It exits by itself if this process dies (--parent-pid, and its stdin closes) or after 10 minutes.
#>
function Start-RayStandIn {
    param([string[]] $Arguments = @(), [int] $TimeoutSec = 60)
    $psi = [System.Diagnostics.ProcessStartInfo]::new((Find-DotnetHost))
    foreach ($a in @((Find-RayStandInDll)) + $Arguments + @('--parent-pid', "$PID", '--max-lifetime', '600')) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true   # one line, read below; stderr stays ours, for diagnostics
    $process = [System.Diagnostics.Process]::Start($psi)
    $read = $process.StandardOutput.ReadLineAsync()
    if (-not $read.Wait([TimeSpan]::FromSeconds($TimeoutSec))) {
        $process.Kill($true)
        throw "The Ray stand-in printed no address within $TimeoutSec s."
    }
    $line = $read.Result
    if ($null -eq $line -or -not $line.StartsWith('RAYSTANDIN ')) {
        $null = $process.WaitForExit(5000)
        throw "The Ray stand-in did not start (exit code $(if ($process.HasExited) { $process.ExitCode } else { 'none yet' })): $line"
    }
    $info = $line.Substring('RAYSTANDIN '.Length) | ConvertFrom-Json
    [pscustomobject]@{
        Process    = $process
        Address    = $info.address
        Control    = $info.control
        CliControl = $info.cliControl
        ArgvLog    = $info.argvLog
    }
}

function Get-RayStandInState {
    param([Parameter(Mandatory)] $StandIn)
    Invoke-RestMethod -Uri "$($StandIn.Control)/state" -TimeoutSec 10
}

function Stop-RayStandIn {
    param($StandIn)
    if (-not $StandIn -or $StandIn.Process.HasExited) { return }
    try { $null = Invoke-RestMethod -Method Post -Uri "$($StandIn.Control)/stop" -TimeoutSec 5 -UserAgent 'RayRunner-Pester' } catch { }
    try { $StandIn.Process.StandardInput.Close() } catch { }
    if (-not $StandIn.Process.WaitForExit(20000)) {
        $StandIn.Process.Kill($true)
        throw "The Ray stand-in (pid $($StandIn.Process.Id)) did not stop within 20 s; killed."
    }
    $StandIn.Process.Dispose()
}

# Polls a condition (cheap checks only) until it holds; throws after the timeout, saying what it waited for.
function Wait-Until {
    param([Parameter(Mandatory)] [scriptblock] $Condition, [int] $TimeoutSec = 30, [string] $Because = 'the condition')
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    while (-not (& $Condition)) {
        if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out after $TimeoutSec s waiting for $Because." }
        Start-Sleep -Milliseconds 100
    }
}

function Get-FreeTcpPort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

<#
    Runs a script file in a new pwsh process (started as tests/Pester/ChildPwsh.ps1 says: the pwsh
    running these tests, from $PSHOME), in the given folder and with extra environment variables.
    Returns ExitCode, Stdout and Stderr; kills the process tree and throws if it outlives the timeout.
#>
function Invoke-ChildPwshScript {
    param(
        [Parameter(Mandatory)] [string] $Script,
        [Parameter(Mandatory)] [string] $WorkingDirectory,
        [hashtable] $Environment = @{},
        [int] $TimeoutSec = 90)
    $file = Join-Path $TestDrive ('child-' + [guid]::NewGuid().ToString('N').Substring(0, 8) + '.ps1')
    Set-Content -LiteralPath $file -Value $Script -Encoding utf8
    $command = @(Get-ChildPwshCommand)
    $psi = [System.Diagnostics.ProcessStartInfo]::new($command[0])
    foreach ($a in @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $file)) { $psi.ArgumentList.Add($a) }
    $psi.WorkingDirectory = $WorkingDirectory
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    # The dotnet tool's pwsh apphost is framework-dependent: tell it where the running runtime is,
    # in case dotnet is not installed where app hosts look by default.
    $self = (Get-Process -Id $PID).Path
    if (-not $env:DOTNET_ROOT -and [System.IO.Path]::GetFileNameWithoutExtension($self) -eq 'dotnet') {
        $psi.Environment['DOTNET_ROOT'] = Split-Path -Parent $self
    }
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = $Environment[$k] }
    $process = [System.Diagnostics.Process]::Start($psi)
    $stdout = $process.StandardOutput.ReadToEndAsync()
    $stderr = $process.StandardError.ReadToEndAsync()
    if (-not $process.WaitForExit($TimeoutSec * 1000)) {
        $process.Kill($true)
        throw "The child pwsh ($file) did not finish within $TimeoutSec s; killed."
    }
    $process.WaitForExit()
    [pscustomobject]@{ ExitCode = $process.ExitCode; Stdout = $stdout.Result; Stderr = $stderr.Result }
}
