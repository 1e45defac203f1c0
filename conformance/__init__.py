"""Interoperability conformance and maturity assessment for China's health information platforms."""

__version__ = "0.1.0"
