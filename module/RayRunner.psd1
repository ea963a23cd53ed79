@{
    # The module assembly: binary cmdlets over RayRunner.Core.
    RootModule           = 'RayRunner.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0e7c2e-6a1d-4d55-9a3e-2f6f1c7d8e41'
    Author               = 'RayRunner contributors'
    CompanyName          = 'RayRunner contributors'
    Copyright            = '(c) RayRunner contributors. MIT License.'
    Description          = 'Run machine-learning experiment sweeps in parallel from PowerShell: on a Ray cluster through the Ray Job Submission API, or on this machine with the built-in local process backend.'

    # netstandard2.0 assembly: Windows PowerShell 5.1 (.NET Framework 4.7.2+) and PowerShell 7.
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    DotNetFrameworkVersion = '4.7.2'

    FormatsToProcess     = @('RayRunner.Format.ps1xml')

    # Explicit lists, never wildcards: fast command discovery and no accidental exports.
    CmdletsToExport      = @(
        'Connect-RayCluster'
        'Disconnect-RayCluster'
        'Get-RayCluster'
        'Start-RayExperiment'
        'Invoke-RayExperiment'
        'Get-RayRun'
        'Get-RayRunStatus'
        'Wait-RayRun'
        'Receive-RayRun'
        'Get-RayRunLog'
        'Stop-RayRun'
        'Remove-RayRun'
        'Resume-RaySweep'
        'New-RaySweep'
        'Measure-RaySweep'
        'ConvertTo-RayResultTable'
        'Export-RaySweepReport'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()

    FileList             = @(
        'RayRunner.psd1'
        'RayRunner.dll'
        'RayRunner.Core.dll'
        'YamlDotNet.dll'
        'RayRunner.Format.ps1xml'
        'en-US/RayRunner.dll-Help.xml'
        'en-US/about_RayRunner.help.txt'
    )

    PrivateData          = @{
        PSData = @{
            Tags         = @('Ray', 'MachineLearning', 'ML', 'Experiments', 'HyperparameterSweep', 'Parallel', 'Jobs', 'PSEdition_Core', 'PSEdition_Desktop', 'Windows', 'Linux', 'MacOS')
            ProjectUri   = 'https://github.com/rayrunner/RayRunner'
            LicenseUri   = 'https://github.com/rayrunner/RayRunner/blob/main/LICENSE'
            ReleaseNotes = 'First release: Connect/Start/Invoke/Wait/Receive/Stop/Remove over the Ray Jobs and local process backends.'
        }
    }
}
