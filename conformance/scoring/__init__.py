"""Maturity scoring: assessment definitions (standards/assessment/), questionnaires, bindings from
validate / run / perf / data-set results to items, rule types and level rules (``rules``), and
gap analysis. In-process entry point: ``api.score_folder``."""
