"""Pinned copies of the pre-change write-back, change listing, pre-check and read code (issue 15).

tests/test_perf_identity.py runs these and the optimised modules on the same inputs and requires
byte-identical outputs. They are frozen: do not edit them along with the toolkit.
"""
