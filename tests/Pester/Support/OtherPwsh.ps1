# Helpers for tests that run PowerShell as a user would: in a process of its own.

# The command line that starts another PowerShell like this one: pwsh itself, or
# 'dotnet pwsh.dll' when this one runs as the repository's dotnet tool (dotnet pwsh).
function Get-OtherPwshCommand {
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { , @($exe, [Environment]::GetCommandLineArgs()[0]) }
    else { , @($exe) }
}

# Runs a command in another PowerShell process and returns its output (stdout and stderr).
function Invoke-OtherPwsh {
    param([Parameter(Mandatory)] [string[]] $Arguments)
    $start = Get-OtherPwshCommand
    $rest = @($start | Select-Object -Skip 1)
    & $start[0] @rest -NoProfile -NonInteractive @Arguments 2>&1
}

# A folder with a 'pwsh' on PATH that starts the same PowerShell, for examples that call pwsh by name.
function New-PwshShim {
    param([Parameter(Mandatory)] [string] $Folder)
    New-Item -ItemType Directory -Force -Path $Folder | Out-Null
    $start = (Get-OtherPwshCommand | ForEach-Object { "'" + ($_ -replace "'", "'\''") + "'" }) -join ' '
    if ($IsWindows) {
        Set-Content -Path (Join-Path $Folder 'pwsh.cmd') -Value "@$($start -replace "'", '"') %*"
    } else {
        $shim = Join-Path $Folder 'pwsh'
        Set-Content -Path $shim -Value "#!/bin/sh`nexec $start `"`$@`""
        chmod +x $shim
    }
}
