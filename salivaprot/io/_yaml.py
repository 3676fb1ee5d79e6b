"""YAML for the small files users write (contrasts, figure specs): safe, and each key once."""

from __future__ import annotations

from typing import Any

from salivaprot.errors import InputFormatError
from salivaprot.io._files import PathLike

__all__ = ["load_yaml"]


def load_yaml(text: str, *, path: PathLike | None, repeated: str) -> Any:
    """The content of a YAML document, read safely (no Python objects), each key given once.

    YAML keeps the last of a mapping's repeated keys without a word; here a key
    given twice is refused, with its lines and ``repeated`` (what to do instead).

    Raises
    ------
    InputFormatError
        Not valid YAML, or a key given twice in one mapping (with the line).

    Examples
    --------
    >>> load_yaml("a: 1\\nb: [x, y]", path=None, repeated="give each key once")
    {'a': 1, 'b': ['x', 'y']}
    >>> load_yaml("a: 1\\na: 2", path="f.yaml", repeated="give each key once")
    Traceback (most recent call last):
    ...
    salivaprot.errors.InputFormatError: f.yaml, line 2: 'a' is given twice in one mapping (lines 1 and 2): give each key once
    """  # noqa: E501
    import yaml

    class UniqueKeys(yaml.SafeLoader):
        """A SafeLoader that refuses a key given twice in one mapping."""

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                line = key_node.start_mark.line + 1
                try:
                    twice = key in seen
                except TypeError:  # (an unhashable key: YAML's own error follows)
                    continue
                if twice:
                    where = f"lines {seen[key]} and {line}" if seen[key] != line else "one line"
                    raise InputFormatError(
                        f"{key!r} is given twice in one mapping ({where}): {repeated}",
                        path=path,
                        line=line,
                    )
                seen[key] = line
            return super().construct_mapping(node, deep=deep)

    try:
        return yaml.load(text, Loader=UniqueKeys)  # (a SafeLoader: no Python objects)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise InputFormatError(
            f"not valid YAML: {getattr(err, 'problem', err)}",
            path=path,
            line=mark.line + 1 if mark is not None else None,
        ) from err
