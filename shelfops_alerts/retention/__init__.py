"""Retention: rows the service no longer needs are deleted by age (``shelfops.prune``).

``policy`` says how long each kind of row is kept (the settings, and the floors the rules
set); ``statements`` holds one bounded DELETE per table; ``prune`` runs them a batch per
short transaction. See the README's "Retention".
"""
