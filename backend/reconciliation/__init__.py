"""Reconciliation (对账): WeChat Pay's daily trade and fund-flow bills against the ledger."""
