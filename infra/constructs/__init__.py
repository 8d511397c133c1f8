"""The CDK constructs autoar's stack is composed of, one per concern."""
