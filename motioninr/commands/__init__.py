"""Subcommands of the user-facing ``motioninr`` CLI, one module each."""
