"""Check that two wheels hold the same files with the same contents.

    python scripts/compare_wheels.py DIST_DIR TREE_DIR

Each directory must hold exactly one wheel. The packaging tox environment builds one
wheel from the sdist (``python -m build``) and one straight from the source tree
(``python -m build --wheel``): if they differ, the sdist is missing something the wheel
needs, or picks up something it should not.
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path


def _wheel(directory: Path) -> Path:
    wheels = sorted(directory.glob("*.whl"))
    if len(wheels) != 1:
        sys.exit(f"expected one wheel in {directory}, found {len(wheels)}")
    return wheels[0]


def _contents(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: hashlib.sha256(archive.read(name)).hexdigest() for name in archive.namelist()}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.exit(__doc__)
    first, second = (_wheel(Path(arg)) for arg in argv)
    if first.name != second.name:
        sys.exit(f"the wheels are named differently: {first.name} and {second.name}")
    a, b = _contents(first), _contents(second)
    problems = [f"only in {first.parent.name}/: {name}" for name in sorted(a.keys() - b.keys())]
    problems += [f"only in {second.parent.name}/: {name}" for name in sorted(b.keys() - a.keys())]
    problems += [f"differs: {name}" for name in sorted(a.keys() & b.keys()) if a[name] != b[name]]
    if problems:
        sys.exit(
            "the wheel built from the sdist differs from the one built from the tree:\n  "
            + "\n  ".join(problems)
        )
    print(f"{first.name}: the same {len(a)} files, built from the sdist and from the tree")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
