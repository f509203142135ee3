"""The teach room: a person's own categories, labeled in a thumbnail grid, learned as they label."""
