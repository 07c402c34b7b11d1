"""The Inferable part of the emulator (``specs/inferable.md``)."""
