"""Suppliers on a tenant run as a platform (SPEC §8): accounts, reviews, sub-orders,
income through the ledger, withdrawals to bank cards."""
