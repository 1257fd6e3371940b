"""The SQLite results store that evals, caches, reports and compare share."""

from alignbench.store.sqlite import STORE_FILE, Store, canonical_json, content_key, generation_key

__all__ = ["STORE_FILE", "Store", "canonical_json", "content_key", "generation_key"]
