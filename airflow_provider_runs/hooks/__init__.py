"""Hooks: authentication and HTTP for each service, sync and async side by side."""
