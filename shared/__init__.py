"""autoar's library: domain models, ledger and audit storage, and the capabilities built on them."""
