"""pb_app: participatory budgeting for community grant rounds."""
