"""Domain types and pure helpers: the model, errors, time formats, opening hours, text
folding. Imports nothing else of router."""
