"""The operator command line: `messaging`."""
