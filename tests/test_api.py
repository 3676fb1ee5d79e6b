"""The public surface: explicit, importable, documented, typed."""

from __future__ import annotations

import inspect

import salivaprot


def test_every_public_name_exists_and_is_documented() -> None:
    for name in salivaprot.__all__:
        assert hasattr(salivaprot, name), name
        obj = getattr(salivaprot, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"


def test_public_functions_are_typed_and_keyword_only_after_the_data() -> None:
    for name in salivaprot.__all__:
        obj = getattr(salivaprot, name)
        if not inspect.isfunction(obj):
            continue
        signature = inspect.signature(obj)
        assert signature.return_annotation is not inspect.Signature.empty, name
        for parameter in signature.parameters.values():
            assert parameter.annotation is not inspect.Parameter.empty, f"{name}({parameter.name})"


def test_main_entry_points_have_runnable_examples() -> None:
    names = (
        "read", "read_samples", "read_mztab", "read_maxquant", "read_diann", "read_fragpipe",
        "read_matrix", "simulate_trial", "summarize", "differential_abundance", "normalize",
        "filter_proteins", "trial_design",
    )  # fmt: skip
    for name in names:
        doc = inspect.getdoc(getattr(salivaprot, name)) or ""
        assert "Examples\n--------\n>>>" in doc, name


def test_version_comes_from_package_metadata() -> None:
    from importlib.metadata import version

    assert salivaprot.__version__ == version("salivaprot")
