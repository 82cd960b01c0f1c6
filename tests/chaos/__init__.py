"""The fault matrix: real processes under one fault at a time (see docs/chaos.md)."""
