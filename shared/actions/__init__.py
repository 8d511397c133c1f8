"""Actions the agent (or a person through it) takes on an account, and how each is carried out."""
