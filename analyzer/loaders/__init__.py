"""Files -> model: mark-keeping YAML, variables, Compose, services."""
