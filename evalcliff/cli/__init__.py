"""The `evalcliff` command line: one module per command, each delegating to the library."""
