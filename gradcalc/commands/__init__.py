"""One module per command, each with a typer app of that one command; :mod:`gradcalc.cli`
imports a command's module only when the command is run or listed.  What the
commands share is in :mod:`.common`; no command imports another, or the CLI.

These modules do not use ``from __future__ import annotations``: typer reads a
command's parameters from its annotations, and string annotations would make it
compile and evaluate each one (about a hundred) at every start.  Names imported
only for type checking are quoted where they are used.
"""
