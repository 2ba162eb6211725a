"""整改台账 toolkit: keeps an inspection rectification ledger honest and current."""

__version__ = "0.1.0"
