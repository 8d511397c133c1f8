"""The mail_events function: SES bounce and complaint notifications, delivered through SNS."""
