"""Fine-tune: the wizard and its pages."""
