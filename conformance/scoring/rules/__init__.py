"""Scoring rule types and level rules, found by name (see ``base``): one class per rule, one
module per class; every module of this package is loaded on first use."""

from .base import (
    LevelRuleType,
    RuleType,
    item_fields,
    level_rule_fields,
    level_rule_type,
    level_rule_types,
    register,
    registry_version,
    rule_type,
    rule_types,
    unregister,
)

__all__ = ["LevelRuleType", "RuleType", "item_fields", "level_rule_fields", "level_rule_type",
           "level_rule_types", "register", "registry_version", "rule_type", "rule_types",
           "unregister"]
