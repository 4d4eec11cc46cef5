"""One module per ``lmdetect`` subcommand (see lmdetect.cli)."""
