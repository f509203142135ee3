"""Library: organize photos into folders, similar photos, the index."""
