"""Flask command-line commands; each module defines one click command the app registers."""
