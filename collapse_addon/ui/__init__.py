"""The add-on's UI: panel settings (properties), operators, panels, and their pure helpers."""
