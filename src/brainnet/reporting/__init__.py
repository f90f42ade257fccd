"""The HTML report of a fitted classifier on labelled data (``brainnet report``, ``brainnet.report``).

``analysis`` computes (NumPy), ``figures`` draws (matplotlib, imported lazily), ``html`` assembles one
self-contained page, ``build`` puts them together through the one estimator.
"""

from brainnet.reporting.build import build_report, report

__all__ = ["build_report", "report"]
