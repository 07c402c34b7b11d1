"""Triggers: one generic run-status waiter for every service."""
