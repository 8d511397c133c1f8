"""The audit trail: one hash-chained, append-only log of decisions and actions per account."""
