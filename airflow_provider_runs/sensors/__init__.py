"""Sensors: wait for runs created elsewhere (deferrable or poking)."""
