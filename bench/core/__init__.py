"""Conventions every layer shares, importing neither torch nor timm: the results schema, atomic
JSON files, the command-line error convention, and model names."""
