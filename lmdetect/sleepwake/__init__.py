"""sleepwake stage."""
