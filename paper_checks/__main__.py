"""``python -m paper_checks``: for now, the catalogue's symbolic derivations (sec. 3)."""

from .derivations import catalog_report

print(catalog_report())
