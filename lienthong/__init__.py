"""The composition root of the `lienthong` console script."""
