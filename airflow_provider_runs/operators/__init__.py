"""Operators: create a remote run and wait for it (deferrable or in the worker)."""
