"""The scenario harness: replays the standard interactions (scenarios as data in test_cases/)
against a platform, judges every answer with small check objects, and records every exchange
as evidence in a run folder."""
