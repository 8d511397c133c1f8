"""`autoar demo`: a simulated company's receivables, run for weeks through the local runtime."""
