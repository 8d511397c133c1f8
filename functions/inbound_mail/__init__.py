"""The inbound_mail function: mail received by the SES receipt rule, taken in."""
