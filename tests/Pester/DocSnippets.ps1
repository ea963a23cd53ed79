# Dot-sourced by Docs.Tests.ps1: finds the commands written in an about_ help topic.

function Get-AboutCommandBlock {
    # about_ topics indent commands by eight blanks. A block of such lines that names a RayRunner
    # cmdlet is a command to run; other indented blocks (tables of names) are not.
    param([Parameter(Mandatory)] [string] $Path)
    $blocks = [System.Collections.Generic.List[object]]::new()
    $current = $null
    foreach ($line in (Get-Content -Path $Path)) {
        if ($null -eq $current -and $line -match '^ {8}\S') { $current = [System.Collections.Generic.List[string]]::new(); $current.Add($line); continue }
        if ($null -ne $current -and $line -match '^ {8}' -and $line.Trim()) { $current.Add($line); continue }
        if ($null -ne $current) { $blocks.Add($current); $current = $null }
    }
    if ($null -ne $current) { $blocks.Add($current) }
    $n = 0
    foreach ($block in $blocks) {
        $code = ($block | ForEach-Object { $_.Substring(8) }) -join "`n"
        if ($code -notmatch '\b\w+-Ray(Run|Cluster|Experiment|Sweep)\w*\b' -or $code -match '->') { continue }
        $n++
        [pscustomobject]@{ Name = "about_RayRunner block $n"; Code = $code }
    }
}
