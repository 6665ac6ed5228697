"""The page (no torch, no timm): results documents to Markdown sections and plots."""
