"""Core: errors, element references, the plan and violation types every wing speaks, version."""
