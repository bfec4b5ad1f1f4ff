"""PAdES: signing PDFs (official, then the organisation's seal) and validating their signatures."""
