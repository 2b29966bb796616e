"""One module per command group; each has GROUP and register(cmd)."""
