"""paper_checks -- one module per quantitative claim of Hazelden & Shea-Brown (2026).

``python -m paper_checks`` runs them.  Until the numeric layer lands, the
runner prints the symbolic derivations behind section 3 for every catalogue
form (see :mod:`paper_checks.derivations`).
"""
