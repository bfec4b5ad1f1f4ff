"""The operators' dashboard under `/ui`: server-rendered HTML, inline SVG, no JavaScript."""
