"""Questions: pure functions of the model that return plain result objects."""
