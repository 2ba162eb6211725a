Attribute VB_Name = "LedgerButtons"
' Buttons of the ledger's macro sheet. Generated from toolkit.excel.vba.project.MACROS:
' edit that table, then run  python -m toolkit.excel.vba.project  to rewrite this file.
' Each Sub runs one function of toolkit.macros through xlwings RunPython.
Option Explicit

Public Sub CheckLedger()
    RunPython "import toolkit.macros as m; m.check_ledger()"
End Sub

Public Sub UpdateStatus()
    RunPython "import toolkit.macros as m; m.update_status()"
End Sub

Public Sub MakeCountyTemplates()
    RunPython "import toolkit.macros as m; m.make_county_templates()"
End Sub

Public Sub ConsolidateCounties()
    RunPython "import toolkit.macros as m; m.consolidate_counties()"
End Sub

Public Sub MakeNotice()
    RunPython "import toolkit.macros as m; m.make_notice()"
End Sub
