"""One module per command; each registers itself on `gradcalc.cli.app`.

These modules do not use ``from __future__ import annotations``: typer reads a
command's parameters from its annotations, and string annotations would make it
compile and evaluate each one (about a hundred) at every start.  Names imported
only for type checking are quoted where they are used.
"""
