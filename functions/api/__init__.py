"""The integrator API: accounts, invoices, credit notes, payments and the audit trail over REST."""
