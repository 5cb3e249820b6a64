"""`python -m ecluse` runs the CLI."""

from ecluse.cli import main

main()
