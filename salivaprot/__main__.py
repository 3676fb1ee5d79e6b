"""``python -m salivaprot`` runs the command line."""

from salivaprot.cli import main

main()
