"""Teach: a person's own categories — label sets, labels and versions (user data in their own
SQLite file, never cleared with the index), heads refitted on the stored embeddings of the set's
backbone, the library scored in numpy, a review queue. Front ends call ``api`` only."""
