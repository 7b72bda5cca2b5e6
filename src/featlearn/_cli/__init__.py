"""The command implementations behind ``featlearn.cli`` (one module per group of commands)."""
