"""Turning measurements into figures, markdown tables, plots and result files."""
