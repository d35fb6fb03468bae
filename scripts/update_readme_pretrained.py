"""Write the registry's numbers into README.md: the "Pretrained generators" table (between the
``<!-- pretrained-table -->`` markers) and the model table's "pretrained (domain FID)" column.

    python scripts/update_readme_pretrained.py          # rewrite README.md
    python scripts/update_readme_pretrained.py --check  # exit 1 if README.md is out of date

tests/test_pretrained.py runs the check, so the README cannot drift from gan_zoo/pretrained/registry.yaml.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan_zoo.zoo import list_pretrained, markdown_table, model_table_cell, not_shipped  # noqa: E402

BEGIN, END = "<!-- pretrained-table -->", "<!-- /pretrained-table -->"
COLUMN = "pretrained (domain FID)"


def render(readme: str) -> str:
    entries = list_pretrained()
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"README.md lacks the {BEGIN} ... {END} markers")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme = f"{head}{BEGIN}\n{markdown_table(entries, not_shipped())}\n{END}{tail}"

    lines = readme.split("\n")
    header = next(i for i, line in enumerate(lines) if line.startswith("| model | paper | registry name |"))
    cells = [c.strip() for c in lines[header].strip("|").split("|")]
    if COLUMN not in cells:  # add the column once
        lines[header] = lines[header].rstrip() + f" {COLUMN} |"
        lines[header + 1] = lines[header + 1].rstrip() + " --- |"
        cells.append(COLUMN)
    column = cells.index(COLUMN)
    for i in range(header + 2, len(lines)):
        if not lines[i].startswith("|"):
            break
        row = [c.strip() for c in lines[i].strip().strip("|").split("|")]
        row += [""] * (len(cells) - len(row))
        name = re.search(r"`([a-z0-9_]+)`", row[cells.index("registry name")])
        row[column] = model_table_cell(name.group(1), entries) if name else "—"
        lines[i] = "| " + " | ".join(row) + " |"
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    path = ROOT / "README.md"
    current = path.read_text()
    updated = render(current)
    if args.check:
        if updated != current:
            print("README.md is out of date with gan_zoo/pretrained/registry.yaml: "
                  "run python scripts/update_readme_pretrained.py")
            return 1
        return 0
    path.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
