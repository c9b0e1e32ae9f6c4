"""The cloud warehouse (云仓): each agent's pieces per SKU as an append-only pieces
ledger; restock, transfer, pickup and drop-ship move pieces only through it."""
