"""Outreach: sending the emails collections decides on, exactly once per decision, through SES."""
