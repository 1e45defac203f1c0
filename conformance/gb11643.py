"""GB 11643-1999 citizen identification numbers: the check character of an 18-character number
(ISO 7064 MOD 11-2, weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, characters 1 0 X 9 8 7 6 5 4 3
2). Used by the validator's data-type layer and by the synthesizer that writes the examples."""

from __future__ import annotations

from operator import mul

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
_ZERO_SUM = 48 * sum(WEIGHTS)


def check_char(first17: str) -> str:
    """The 18th character of the number whose first 17 digits are ``first17``."""
    if len(first17) != 17:
        raise ValueError(f"expected 17 digits, got {len(first17)}")
    if first17.isascii() and first17.isdigit():
        # ASCII digit bytes minus 48 are the digits: one C-level pass, no int() per character
        return CHECK[(sum(map(mul, first17.encode("ascii"), WEIGHTS)) - _ZERO_SUM) % 11]
    return CHECK[sum(map(mul, map(int, first17), WEIGHTS)) % 11]
