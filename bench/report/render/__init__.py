"""Text, Markdown, CSV/LaTeX and HTML made from the report model."""
