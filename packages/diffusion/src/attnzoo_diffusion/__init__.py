"""attnzoo plugin package."""
