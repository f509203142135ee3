"""The photo library: index, similar photos, organize into folders, XMP keywords."""
