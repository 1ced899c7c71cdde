"""Read numpydoc-style docstrings: the summary and the ``Parameters`` section.

numpy, pandas, networkx and many scientific packages document a function as::

    Short summary.

    Parameters
    ----------
    x1, x2 : array_like
        The values.
    mode : {'fast', 'exact'}, optional
        How to compute it.

:func:`parse_numpydoc` gives the summary (the first paragraph, one line) and, per parameter
name, its type text and its description (one line). Names listed together share their entry;
``*args`` and ``**kwargs`` entries are left out. Google-style docstrings (``Args:``) are read by
transformers' parser in :mod:`fc_finetune.tools.registry`; a docstring with neither has no
parameter descriptions.

>>> parse_numpydoc('''Add them.
...
... Parameters
... ----------
... a, b : int
...     The numbers.
... ''')
('Add them.', {'a': ('int', 'The numbers.'), 'b': ('int', 'The numbers.')})
"""

from __future__ import annotations

import inspect
import re

_UNDERLINE = re.compile(r"\s*(-{3,}|={3,})\s*")
_ENTRY = re.compile(r"([A-Za-z_*][\w*]*(?:\s*,\s*[A-Za-z_*][\w*]*)*)\s*(?::\s*(.*))?")


def numpydoc_sections(doc: str) -> dict[str, list[str]]:
    """The docstring's lines by section title (``"summary"`` for the lines before the first title).
    A title is a line underlined by at least three ``-`` or ``=`` about as long as it."""
    lines = inspect.cleandoc(doc).splitlines()
    sections: dict[str, list[str]] = {}
    title, body, i = "summary", [], 0
    while i < len(lines):
        line = lines[i]
        if (line.strip() and i + 1 < len(lines) and _UNDERLINE.fullmatch(lines[i + 1])
                and len(lines[i + 1].strip()) >= len(line.strip()) - 1):
            sections.setdefault(title, body)
            title, body, i = line.strip(), [], i + 2
            continue
        body.append(line)
        i += 1
    sections.setdefault(title, body)
    return sections


def parse_numpydoc(doc: str) -> tuple[str, dict[str, tuple[str, str]]]:
    """``(summary, {name: (type text, description)})`` of a numpydoc docstring."""
    sections = numpydoc_sections(doc)
    paragraph: list[str] = []
    for line in sections.get("summary", []):
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.append(line.strip())
    params: dict[str, tuple[str, str]] = {}
    names: list[str] = []
    type_text, described = "", []
    for line in sections.get("Parameters", []):
        if line and not line[0].isspace():
            for name in names:
                params[name] = (type_text, " ".join(described))
            match = _ENTRY.fullmatch(line.strip())
            names = [n.strip() for n in match.group(1).split(",")] if match else []
            names = [n for n in names if not n.startswith("*")]
            type_text, described = (match.group(2) or "").strip() if match else "", []
        elif line.strip() and names:
            described.append(line.strip())
    for name in names:
        params[name] = (type_text, " ".join(described))
    return " ".join(paragraph), params
