"""The double-entry ledger: accounts, postings, entries, balances (SPEC §6)."""
