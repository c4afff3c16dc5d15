"""Reading and writing config YAML.

PyYAML implements YAML 1.1, whose float rule needs a dot: ``1e-4`` and ``5e7`` load as *strings*
(this broke the original GENESIS config loading). Our loader adds YAML 1.2's float rule, rejects
duplicate keys (PyYAML silently keeps the last one), and records the line of every key so that an
error can point at ``file.yaml:14``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from genesis_cli.errors import ConfigError

# YAML 1.2 core-schema floats: 1e-4, 5E7, -1.5e+3, .5, 1., inf, nan (plus 1.1's sexagesimal-free subset).
_FLOAT_12 = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)
        |[-+]?(?:[0-9][0-9_]*)\.[0-9_]*
        |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
    re.X,
)

#: Dotted key path -> 1-based line number in the source text.
LineMap = dict[str, int]


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 floats and duplicate-key detection."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {seen[key]})", key_node.start_mark
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


# A private copy of the resolver table, so the global SafeLoader keeps its behaviour.
_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def _line_map(node: yaml.Node | None, prefix: str = "") -> LineMap:
    """Line of each key in a composed YAML tree, keyed by dotted path."""
    lines: LineMap = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = f"{prefix}{key_node.value}"
            lines[path] = key_node.start_mark.line + 1
            lines.update(_line_map(value_node, path + "."))
    return lines


def parse_yaml(text: str, source: str) -> tuple[Any, LineMap]:
    """Parse YAML text; return the data and its key-line map. Errors name ``source:line:col``."""
    loader = _ConfigLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([f"{where}: {problem}"], hint="fix the YAML syntax at that position") from exc
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: invalid YAML ({exc})"]) from exc
    finally:
        loader.dispose()
    return data, _line_map(node)


def parse_scalar(text: str) -> Any:
    """A ``--set`` value parsed as a YAML scalar (or flow list): ``3e-4`` -> 0.0003, ``[3,5]`` -> list."""
    if text.strip() == "":
        return ""
    data, _ = parse_yaml(text, "--set value")
    return data


def read_yaml_file(path: Path) -> tuple[Any, LineMap]:
    """Read and parse a YAML file, with one clear error for an unreadable one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError([f"{path}: file not found"]) from exc
    except IsADirectoryError as exc:
        raise ConfigError([f"{path}: is a directory, not a YAML file"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not a text file (cannot decode as UTF-8)"],
                          hint="pass a YAML config file") from exc
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from exc
    return parse_yaml(text, str(path))


class _Dumper(yaml.SafeDumper):
    """Block-style dumper that keeps the settings order and writes None as null."""


def dump_yaml(data: Any) -> str:
    """YAML text for plain data, keys in declaration order, readable back by :func:`parse_yaml`."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=None,
                     allow_unicode=True, width=100)
