"""sls-audit's rules, one module per family; `registry` collects them and third-party ones."""
