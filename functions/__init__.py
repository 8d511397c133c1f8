"""autoar's Lambda functions: one package each, a thin handler over `shared`."""
