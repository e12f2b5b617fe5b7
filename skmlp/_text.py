"""Strings from files, made safe where they reach a terminal or a CSV file.

Class labels come from model files, names and settings from config files and
data files: none of them is skmlp's own text. :func:`terminal_safe` writes
control characters (C0, DEL, C1: terminal escape sequences) and the invisible
characters that reorder text (bidi overrides and isolates) as visible ``\\x..``
or ``\\u....`` escapes. :func:`csv_safe` also keeps a spreadsheet from reading a
cell as a formula (OWASP's CSV injection): a text cell starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``, unless it
is a plain number (``-1`` stays ``-1``). Ordinary labels (digits, words, letters
of any script) are unchanged.
"""

from __future__ import annotations

import re

__all__ = ["csv_safe", "terminal_safe"]

#: Bidi embeddings, overrides and isolates, and the marks that reorder text.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_KEEP_LINES = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text, keep_newlines: bool = False) -> str:
    """``text`` with control and bidi characters written as visible escapes.

    Parameters
    ----------
    text : object
        Converted with ``str``.
    keep_newlines : bool, default=False
        Keep ``\\n`` (for a block of lines skmlp laid out itself).

    Returns
    -------
    str
        The text, safe to print: it cannot move the cursor, change colours,
        set the window title or reorder what is shown.

    Examples
    --------
    >>> terminal_safe("cat\\x1b[2J")
    'cat\\\\x1b[2J'
    >>> terminal_safe("chat")
    'chat'
    """
    pattern = _UNSAFE_KEEP_LINES if keep_newlines else _UNSAFE
    return pattern.sub(_escape, str(text))


def csv_safe(value):
    """A CSV cell that a spreadsheet shows as text, never runs as a formula.

    Parameters
    ----------
    value : object
        A cell; anything but a string is returned unchanged.

    Returns
    -------
    object
        A string cell with its control characters escaped (as
        :func:`terminal_safe`) and a ``'`` before a leading ``=``, ``+``,
        ``-``, ``@``, tab or carriage return, unless the cell is a plain number.

    Examples
    --------
    >>> csv_safe("=HYPERLINK(1)")
    "'=HYPERLINK(1)"
    >>> csv_safe("-1"), csv_safe("seven"), csv_safe(3)
    ('-1', 'seven', 3)
    """
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        value = "'" + value
    return terminal_safe(value)
