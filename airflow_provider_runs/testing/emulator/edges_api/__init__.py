"""The Edges part of the emulator (``specs/edges.md``); ``service.SERVICE``."""
