"""Deployment and local running of autoar: the CDK app, the local runtime and the CLI."""
