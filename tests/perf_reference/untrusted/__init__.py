"""Pinned pre-change copy of toolkit.excel.untrusted.precheck (issue 15), for tests/test_perf_identity.py."""
