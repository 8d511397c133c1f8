"""The policy a finance team sets: what the agent may do alone and what waits for a person."""
