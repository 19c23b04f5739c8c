"""Report helpers: data frames for notebooks (reports/insights.ipynb)."""
