"""Frozen copies of the check path before the third round of issue 15 (intake, validation, statuses, plan)."""
