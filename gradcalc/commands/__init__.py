"""One module per command; each registers itself on `gradcalc.cli.app`."""
