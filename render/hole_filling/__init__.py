"""Hole filling: a colour for every pixel no geometry covered.

- :func:`fill_holes` spreads the covered colours into the holes with a push-pull pyramid.
"""

from ._push_pull import fill_holes

__all__ = ["fill_holes"]
