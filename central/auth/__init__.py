"""Accounts, sessions, tokens and the permission rules (``rules``) of every endpoint."""
