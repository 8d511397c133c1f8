"""Collections: the per-account decision core (state, candidates, choice, timing) and outreach.

Everything here is pure logic over ledger records, a policy and an instant; AWS stays outside.
"""
