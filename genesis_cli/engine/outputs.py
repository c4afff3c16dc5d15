"""The one overwrite rule every command that writes follows, checked before any work starts.

- An output is never one of the command's inputs (same path, a link to it or a hard link),
  with or without ``--overwrite``: ``evaluate -o gen.h5`` must not turn the generated events into
  a PNG, and ``sample --labels-from lab.h5 --output lab.h5`` must not replace its label source.
- An output is a file: naming an existing directory is an error (before sampling anything); an
  output that is a folder of files (``evaluate --figures``) is replaced as a whole.
- An existing output is replaced only with ``--overwrite``; the replacement is atomic (a temporary
  sibling renamed over it), so the old file stays whole until the new one is complete.
- Two outputs of one command are never the same file.
- Figures are written in the format their extension names; an extension matplotlib cannot write
  is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from genesis_cli.errors import UsageError

#: Where `genesis compare` writes unless told otherwise.
COMPARE_OUTPUT_DIR = Path("compare")
#: What matplotlib writes (the formats of its Agg and vector backends), by extension.
FIGURE_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp")


@dataclass(frozen=True)
class Output:
    """A file a command writes: its path and the flag that named it (for messages)."""

    path: Path
    flag: str
    figure: bool = False
    folder: bool = False  # a folder of files, replaced as a whole (atomic_files.write_folder_atomic)


def same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file (same path after resolving links, or same inode)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def figure_format(path: Path, flag: str) -> str:
    """The format of a figure file, from its extension; UsageError for one matplotlib cannot write."""
    extension = path.suffix.lower().lstrip(".")
    if extension not in FIGURE_FORMATS:
        raise UsageError(f"{flag} {path}: cannot write a figure as {path.suffix or 'a file without an extension'}",
                         hint=f"use one of .{', .'.join(FIGURE_FORMATS)}")
    return extension


def check_outputs(outputs: list[Output], inputs: Mapping[str, Path | None], *, overwrite: bool) -> None:
    """Refuse, with one line, any output that breaks the rule above (``inputs``: flag -> path)."""
    for i, output in enumerate(outputs):
        for flag, source in inputs.items():
            if source is not None and source.exists() and same_file(output.path, source):
                raise UsageError(f"{output.flag} {output.path}: is also the input {flag}; an output never replaces "
                                 "one of the command's inputs", hint="choose another name for the output")
        for other in outputs[:i]:
            if same_file(output.path, other.path):
                raise UsageError(f"{output.flag} {output.path}: is also {other.flag}", hint="give each output its own name")
        if output.folder and output.path.exists() and not output.path.is_dir():
            raise UsageError(f"{output.flag} {output.path}: is a file", hint="name a folder to write")
        if output.path.is_dir() and not output.folder:
            raise UsageError(f"{output.flag} {output.path}: is a directory", hint="name a file to write")
        if output.figure:
            figure_format(output.path, output.flag)
        if not output.path.parent.exists():
            raise UsageError(f"{output.flag} {output.path}: output directory does not exist ({output.path.parent})",
                             hint="create it first")
        if output.path.exists() and not overwrite:
            raise UsageError(f"{output.path}: already exists", hint="choose another name or pass --overwrite")


def locate_compare_output(path: Path) -> tuple[Path, str | None]:
    """``path`` as given when it exists; else the one file of that name that `genesis compare` wrote
    (the guide's `genesis evaluate --generated-data dit_samples.h5` after `genesis compare`), with a
    notice. Several matches are a one-line error listing them; none leaves ``path`` to fail as usual."""
    if path.exists() or path.parent != Path(""):
        return path, None
    folders = [COMPARE_OUTPUT_DIR, *sorted(d for d in Path(".").iterdir() if d.is_dir() and d != COMPARE_OUTPUT_DIR)]
    found = [folder / path.name for folder in folders if (folder / path.name).is_file()]
    if len(found) > 1:
        raise UsageError(f"{path}: not found here; {len(found)} files of that name are in subfolders",
                         hint="pass one of: " + ", ".join(map(str, found)))
    if found:
        return found[0], f"{path} is not here; using {found[0]} (written by genesis compare)"
    return path, None
