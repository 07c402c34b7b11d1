"""Testing helpers: the local emulator of the three services and its pytest fixtures."""
