"""Render the results ledger: docs/results.yaml -> docs/results.md and the README's results table.

    python scripts/results_ledger.py            # rewrite both
    python scripts/results_ledger.py --check    # exit 1 if either is out of date (CI)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gan_zoo.ledger import load_ledger, render_markdown, render_readme_table, replace_readme_block


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="repository root (default: the current folder)")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if a file is out of date")
    args = parser.parse_args(argv)
    root = Path(args.root)
    ledger = load_ledger(root / "docs" / "results.yaml")
    readme_path = root / "README.md"
    wanted = {
        root / "docs" / "results.md": render_markdown(ledger),
        readme_path: replace_readme_block(readme_path.read_text(), render_readme_table(ledger)),
    }
    stale = [path for path, text in wanted.items() if not path.is_file() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path} is out of date: run python scripts/results_ledger.py", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path])
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
