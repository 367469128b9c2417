"""One module per command, each with a typer app of that one command; :mod:`gradcalc.cli`
imports a command's module only when the command is run or listed.  What the
commands share is in :mod:`.common`; no command imports another, or the CLI.

These modules do not use ``from __future__ import annotations``: typer reads a
command's parameters from its annotations, and string annotations would make it
compile and evaluate each one (about a hundred) at every start.  Names imported
only for type checking are quoted where they are used.
"""

# The exit codes of the command line, in one place (gradcalc.cli and every command use them).
EXIT_OK = 0
EXIT_DISAGREE = 1  # a check or an expected answer disagreed
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3  # a bug in gradcalc, never the user's fault
EXIT_OUTPUT = 4  # the output could not be written (a full disk, a closed stream, a missing directory)
