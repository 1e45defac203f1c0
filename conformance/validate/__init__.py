"""The CDA validator: one module per validation concern (parse, schema, template, vocabulary,
datatype), each a function from a parsed document context to findings."""

from .engine import Validator, ValidatorOptions

__all__ = ["Validator", "ValidatorOptions"]
