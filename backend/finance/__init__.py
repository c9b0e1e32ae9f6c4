"""Finance: reward lifecycle, settlement, withdrawals, transfers, recharge, statements (SPEC §6)."""
