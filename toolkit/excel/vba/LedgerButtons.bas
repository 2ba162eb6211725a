Attribute VB_Name = "LedgerButtons"
' Buttons of the ledger's macro sheet. Generated from toolkit.excel.vba.project.MACROS:
' edit that table, then run  python -m toolkit.excel.vba.project  to rewrite this file.
' Each Sub checks that the configured Python has the toolkit, then runs one function of
' toolkit.macros through xlwings RunPython. Chinese text is built with ChrW: the module stays ASCII.
Option Explicit

Public Sub CheckLedger()
    If Not ToolkitReady() Then Exit Sub
    RunPython "import toolkit.macros as m; m.check_ledger()"
End Sub

Public Sub UpdateStatus()
    If Not ToolkitReady() Then Exit Sub
    RunPython "import toolkit.macros as m; m.update_status()"
End Sub

Public Sub MakeCountyTemplates()
    If Not ToolkitReady() Then Exit Sub
    RunPython "import toolkit.macros as m; m.make_county_templates()"
End Sub

Public Sub ConsolidateCounties()
    If Not ToolkitReady() Then Exit Sub
    RunPython "import toolkit.macros as m; m.consolidate_counties()"
End Sub

Public Sub MakeNotice()
    If Not ToolkitReady() Then Exit Sub
    RunPython "import toolkit.macros as m; m.make_notice()"
End Sub

Public Sub MakeBoard()
    If Not ToolkitReady() Then Exit Sub
    RunPython "import toolkit.macros as m; m.make_board()"
End Sub

' True when the interpreter xlwings will start exists and can import the toolkit and xlwings;
' otherwise shows why in Chinese (instead of xlwings' English message or a Python traceback).
Private Function ToolkitReady() As Boolean
    Dim interpreter As String, prefix As String, message As String
    interpreter = GetConfig("INTERPRETER_WIN", "")
    If interpreter = "" Then interpreter = GetConfig("INTERPRETER", "python")
    If interpreter = "python" Or interpreter = "pythonw" Then
        ToolkitReady = True ' looked up on PATH by cmd.exe; nothing to check here
        Exit Function
    End If
    If Not FileExists(interpreter) Then
        message = ""
        message = message & Zh("6574 6539 53F0 8D26 FF1A 627E 4E0D 5230 6309 94AE 8981 7528 7684 20 50 79 74 68 6F 6E 3002 A A 8BBE")
        message = message & Zh("7F6E 20 49 6E 74 65 72 70 72 65 74 65 72 5F 57 69 6E FF08 5728 9690 85CF 7684 201C 78")
        message = message & Zh("6C 77 69 6E 67 73 2E 63 6F 6E 66 201D 5DE5 4F5C 8868 6216 7528 6237 7684 20 78 6C 77 69")
        message = message & Zh("6E 67 73 2E 63 6F 6E 66 20 6587 4EF6 4E2D FF09 6307 5411 7684 6587 4EF6 4E0D 5B58 5728 FF1A A")
        message = message & interpreter
        message = message & Zh("A A 8BF7 6309 300A 5458 5DE5 7535 8111 5B89 88C5 8BF4 660E 300B 8FD0 884C 5B89 88C5 5305 4E2D 7684 20 69 6E")
        message = message & Zh("73 74 61 6C 6C 2E 63 6D 64 FF08 4E3A 5F53 524D 7528 6237 5B89 88C5 5230 20 25 4C 4F 43 41")
        message = message & Zh("4C 41 50 50 44 41 54 41 25 5C 7A 68 65 6E 67 67 61 69 5C 76 65 6E 76 FF0C")
        message = message & Zh("4E0D 9700 8981 7BA1 7406 5458 6743 9650 FF09 FF1B 50 79 74 68 6F 6E 20 88C5 5728 522B 5904 7684 FF0C 8BF7")
        message = message & Zh("628A 20 49 6E 74 65 72 70 72 65 74 65 72 5F 57 69 6E 20 6539 4E3A 20 70 79 74")
        message = message & Zh("68 6F 6E 2E 65 78 65 20 7684 5B8C 6574 8DEF 5F84 3002 A 57 50 53 20 8868 683C 6216 4E0D 80FD")
        message = message & Zh("542F 7528 5B8F 65F6 FF0C 8BF7 5148 4FDD 5B58 5E76 5173 95ED 53F0 8D26 FF0C 518D 53CC 51FB 53F0 8D26 65C1 7684 20 2E")
        message = message & Zh("63 6D 64 20 6587 4EF6 3002")
        MsgBox message, vbCritical, Zh("6574 6539 53F0 8D26")
        Exit Function
    End If
    prefix = ParentFolder(interpreter)
    If LCase$(Right$(prefix, 8)) = "\scripts" Then prefix = ParentFolder(prefix)
    If FileExists(prefix & "\Lib\site-packages\toolkit\macros.py") And FileExists(prefix & "\Lib\site-packages\xlwings\__init__.py") Then
        ToolkitReady = True
        Exit Function
    End If
    If ImportsToolkit(interpreter) Then
        ToolkitReady = True
        Exit Function
    End If
    message = ""
    message = message & Zh("6574 6539 53F0 8D26 FF1A 8FD9 4E2A 20 50 79 74 68 6F 6E 20 4E2D 6CA1 6709 5B89 88C5 6574 6539 53F0 8D26")
    message = message & Zh("5DE5 5177 FF08 74 6F 6F 6C 6B 69 74 FF09 6216 20 78 6C 77 69 6E 67 73 FF1A A")
    message = message & interpreter
    message = message & Zh("A A 8BF7 91CD 65B0 8FD0 884C 5B89 88C5 5305 4E2D 7684 20 69 6E 73 74 61 6C 6C 2E 63 6D 64")
    message = message & Zh("FF1B 5982 679C 20 49 6E 74 65 72 70 72 65 74 65 72 5F 57 69 6E 20 6307 5411 4E86 522B")
    message = message & Zh("7684 20 50 79 74 68 6F 6E FF0C 8BF7 6539 4E3A 20 25 4C 4F 43 41 4C 41 50 50 44 41")
    message = message & Zh("54 41 25 5C 7A 68 65 6E 67 67 61 69 5C 76 65 6E 76 5C 53 63 72 69 70 74")
    message = message & Zh("73 5C 70 79 74 68 6F 6E 2E 65 78 65 3002")
    MsgBox message, vbCritical, Zh("6574 6539 53F0 8D26")
End Function

' Runs the interpreter hidden on a one-line import check, with the PYTHONPATH xlwings would use.
Private Function ImportsToolkit(ByVal interpreter As String) As Boolean
    Dim env As Object, saved As String
    Set env = CreateObject("WScript.Shell").Environment("PROCESS")
    saved = env("PYTHONPATH")
    env("PYTHONPATH") = ThisWorkbook.Path & ";" & GetConfig("PYTHONPATH")
    On Error Resume Next
    ImportsToolkit = (CreateObject("WScript.Shell").Run(Chr(34) & interpreter & Chr(34) & " -c " & Chr(34) & _
        "import importlib.util as u, sys; sys.exit(0 if u.find_spec('toolkit.macros') and u.find_spec('xlwings') else 1)" & Chr(34), 0, True) = 0)
    On Error GoTo 0
    If saved = "" Then env.Remove "PYTHONPATH" Else env("PYTHONPATH") = saved
End Function

' Text from hexadecimal UTF-16 code units separated by spaces.
Private Function Zh(ByVal codes As String) As String
    Dim part As Variant
    For Each part In Split(codes, " ")
        Zh = Zh & ChrW(CLng("&H" & part & "&"))
    Next part
End Function
