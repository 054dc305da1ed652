"""One Typer command per DVC stage: parse settings, call the library, write artifacts atomically."""
