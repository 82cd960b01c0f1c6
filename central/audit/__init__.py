"""The audit trail: who did what to accounts, sessions, tokens, rounds and the screen socket."""
