"""attnzoo-example: the smallest complete attnzoo model plugin (copy it to start your own)."""
