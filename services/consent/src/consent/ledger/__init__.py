"""The append-only consent ledger, effective state, objections, receipts."""
