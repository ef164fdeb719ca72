"""The configuration language: YAML with file:line:column marks, durations, located
validation problems."""
