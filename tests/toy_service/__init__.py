"""A toy fourth run service defined only in tests: descriptor, state table, hook, operator, sensor
and emulator routes. It proves a new service needs no change to the provider's core, trigger,
base classes or generic emulator modules (see CONTRIBUTING.md)."""
