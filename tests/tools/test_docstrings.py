"""numpydoc docstrings: the reader, and the registry's descriptions from them."""

from __future__ import annotations

from fc_finetune.tools.docstrings import numpydoc_sections, parse_numpydoc
from fc_finetune.tools.registry import FunctionRegistry

DOC = """Compute the weighted mean
    of the values.

    A second paragraph the summary leaves out.

    Parameters
    ----------
    values, weights : array_like
        The data and,
        for each value, its weight.
    method : {'exact', 'fast'}, optional
        How to sum.
    *args : tuple
        Ignored.
    flag
        No type given.

    Returns
    -------
    mean : float
        The mean.
    """


def test_sections_summary_and_every_parameter_with_its_type_and_joined_description():
    assert list(numpydoc_sections(DOC)) == ["summary", "Parameters", "Returns"]
    summary, params = parse_numpydoc(DOC)
    assert summary == "Compute the weighted mean of the values."
    assert params == {
        "values": ("array_like", "The data and, for each value, its weight."),
        "weights": ("array_like", "The data and, for each value, its weight."),
        "method": ("{'exact', 'fast'}, optional", "How to sum."),
        "flag": ("", "No type given."),
    }  # *args left out; the Returns section's "mean" is not a parameter


def test_a_docstring_without_a_parameters_section_has_no_parameters():
    assert parse_numpydoc("Just a line.\n\nArgs:\n    x: a value.") == ("Just a line.", {})
    assert numpydoc_sections("Title\n-----\nbody") == {"summary": [], "Title": ["body"]}
    assert list(numpydoc_sections("A long title\n---\nbody")) == ["summary"]  # not underlined: text


def test_the_registry_takes_descriptions_from_a_numpydoc_docstring():
    registry = FunctionRegistry()

    @registry.register
    def hypotenuse(a: float, b: float = 1.0) -> float:
        """Return the hypotenuse of a right triangle.

        Parameters
        ----------
        a : float
            The first leg.
        b : float, optional
            The second leg.
        """
        return (a * a + b * b) ** 0.5

    function = registry.tools()[0]["function"]
    assert function["description"] == "Return the hypotenuse of a right triangle."
    assert function["parameters"]["properties"] == {"a": {"type": "number", "description": "The first leg."},
                                                    "b": {"type": "number", "description": "The second leg."}}
    assert function["parameters"]["required"] == ["a"]
