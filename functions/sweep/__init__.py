"""The sweep function: queue every account whose next review is due."""
