"""Approval gates: high-stakes actions wait in Step Functions for a person's emailed decision."""
