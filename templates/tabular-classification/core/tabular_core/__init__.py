"""Code shared by this use case's training and inference repos (one source)."""
