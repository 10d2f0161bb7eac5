"""The capability registry: capabilities/<line>.yml read, checked and turned into Rasa's terms.

See registry/README.md.
"""
