"""Data in: tables, images, built-in datasets, label parsing, splits and feature scaling (NumPy, Pillow)."""
