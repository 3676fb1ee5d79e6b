"""``python -m salivaprot`` runs the command line."""

from salivaprot.cli import run

run()
