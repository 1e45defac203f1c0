"""Maturity scoring: assessment definitions (standards/assessment/), questionnaires, bindings from
validate / run / perf results to items, level rules and gap analysis."""
