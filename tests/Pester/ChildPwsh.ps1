# Dot-sourced by the Pester files: how to start another pwsh like the one running the tests.
#
# (Get-Process -Id $PID).Path is not that: under the PowerShell dotnet tool (the way this project
# installs pwsh) the process is `dotnet`, and `dotnet -NoProfile` is not a command. $PSHOME is the
# folder of the running engine in every install (dotnet tool, package, MSI, Windows), and holds its
# apphost (pwsh / pwsh.exe) beside pwsh.dll. A copy without the apphost runs pwsh.dll through the
# dotnet host that is running us.

function Get-ChildPwshCommand {
    # Returns the command and the arguments to put before the caller's own: & $c[0] @($c[1..]) ...
    $exe = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
    if (Test-Path -LiteralPath $exe -PathType Leaf) { return , @($exe) }
    $dll = Join-Path $PSHOME 'pwsh.dll'
    $hostExe = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    if ((Test-Path -LiteralPath $dll) -and $hostExe) { return , @($hostExe, $dll) }
    throw "Cannot find a pwsh to start child sessions: neither '$exe' nor '$dll' exists."
}

function Invoke-ChildPwsh {
    # Runs a child pwsh with -NoProfile -NonInteractive and the given arguments; output and
    # $LASTEXITCODE as for any native command.
    $cmd = Get-ChildPwshCommand
    $prefix = @($cmd | Select-Object -Skip 1)
    & $cmd[0] @prefix -NoProfile -NonInteractive @args
}
