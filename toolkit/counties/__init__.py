"""County submissions: a workbook per county to fill in, and the monthly consolidation of the returns.

Public API (import from the modules; this package imports nothing heavy on its own):

- ``template.make_county_templates(ledger_path, *, period, out_dir, today, now, return_deadline) -> list[Path]``
- ``consolidate.consolidate_folder(ledger_path, inbox_dir, *, period, dry_run, today, now, progress,
  deadline, report_dir, backup_dir, workers) -> ConsolidationResult``
- ``returns.check_return(path, tables, ctx, *, probe) -> ReturnCheck`` (one file, already read by the guard)
- ``report.write_report(result, folder) -> Path``
- ``demo.simulate_returns(templates_dir, inbox_dir, *, today) -> list[Path]`` and ``demo.run_county_demo``
"""
