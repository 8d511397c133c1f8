"""The customer ledger: accounts, invoices, credit notes, payments, allocations, cases, touches."""
