"""The public approval page: approvers open their signed link, read the request and decide."""
