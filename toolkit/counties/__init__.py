"""County submissions: a workbook per county to fill in, and the monthly consolidation of the returns.

Public API (import from the modules; this package imports nothing heavy on its own):

- ``template.make_county_templates(ledger_path, *, period, out_dir, today, now, return_deadline, ledger_id)
  -> list[Path]``; ``template.read_template_meta(path)``; ``template.default_return_deadline(day)``
- ``identity.ensure_ledger_id(path, tables) -> (ledger_id, WriteResult | None)``,
  ``identity.plan_ledger_id(tables) -> (ledger_id, WritePlan | None)``, ``identity.read_ledger_id(tables)``
- ``consolidate.consolidate_folder(ledger_path, inbox_dir, *, period, dry_run, today, now, progress,
  deadline, report_dir, backup_dir, workers) -> ConsolidationResult``
- ``model``: ``ConsolidationResult``, ``CountySubmission``, ``AppliedChange`` and the state words
  (also importable from ``consolidate``)
- ``returns.check_return(path, tables, ctx, *, probe, display) -> ReturnCheck`` (one file, already read by the guard)
- ``report.write_report(result, folder) -> Path``
- ``toolkit.demo.counties.simulate_returns(templates_dir, inbox_dir, *, today)`` and ``run_county_demo``

Rules: docs/rules/counties.md.
"""
