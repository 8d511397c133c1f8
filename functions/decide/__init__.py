"""The decide function: one collections decision per queued account."""
