#!/usr/bin/env python3
"""How well `steward policy import` splits the five source policies into their clauses.

Imports each of ../shared/seeds/*.txt with `steward policy import FILE --list` and compares the
clauses with the document's inventory in ../shared/clauses/ (the ids packs and findings use):

- ids: inventory rows whose clause id the import also found;
- texts: of those, rows whose text is the import's after whitespace is normalised (the inventory
  keeps an excerpt of at most 240 characters, so the import's text is compared up to that length).

Prints a Markdown report: the agreement per document, then every difference. Run from the
repository root:

    python3 bench/policy-import.py            # builds steward (debug) first
    STEWARD_BIN=target/release/steward python3 bench/policy-import.py
"""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STEWARD_SHARED", ROOT.parent / "shared"))


def norm(text):
    return re.sub(r"\s+", " ", text).strip()


def main():
    binary = os.environ.get("STEWARD_BIN")
    if not binary:
        subprocess.run(["cargo", "build", "-q", "-p", "steward-cli"], cwd=ROOT, check=True)
        binary = str(ROOT / "target" / "debug" / "steward")
    names = {}
    readme = (SHARED / "seeds" / "README.md").read_text(encoding="utf-8")
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 3 and cells[0].endswith(".txt"):
            names[cells[0]] = f"{cells[2]} {cells[1]} {cells[3]}"
    rows, differences = [], []
    total = [0, 0, 0]
    for seed in sorted((SHARED / "seeds").glob("*.txt")):
        inventory = []
        with open(SHARED / "clauses" / (seed.stem + ".tsv"), encoding="utf-8") as f:
            next(f)
            for line in f:
                clause, _, text = line.rstrip("\n").partition("\t")
                inventory.append((clause, text))
        out = subprocess.run(
            [binary, "policy", "import", str(seed), "--list"],
            capture_output=True, text=True, check=True,
        ).stdout.splitlines()[1:]
        ours = {}
        order = []
        for line in out:
            clause, _, rest = line.partition("\t")
            ours[clause] = rest.partition("\t")[0]
            order.append(clause)
        ids = texts = 0
        for clause, text in inventory:
            if clause not in ours:
                differences.append(f"| {seed.stem} | {clause} | missing | {text[:80]} |")
                continue
            ids += 1
            expected = norm(text)
            found = norm(ours[clause])[: len(expected)]
            if found == expected:
                texts += 1
            else:
                differences.append(
                    f"| {seed.stem} | {clause} | text differs | inventory: {expected[-60:]} — import: {found[-60:]} |"
                )
        known = {c for c, _ in inventory}
        for clause in order:
            if clause not in known:
                differences.append(f"| {seed.stem} | {clause} | not in the inventory | {ours[clause][:80]} |")
        n = len(inventory)
        total = [total[0] + n, total[1] + ids, total[2] + texts]
        rows.append(
            f"| {names.get(seed.name, seed.name)} | {n} | {len(order)} | {ids} ({100 * ids / n:.1f} %) | {texts} ({100 * texts / n:.1f} %) |"
        )
    print("| document | inventory rows | clauses imported | ids identical | texts identical |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    n, ids, texts = total
    print(f"| all five | {n} | | {ids} ({100 * ids / n:.1f} %) | {texts} ({100 * texts / n:.1f} %) |")
    print()
    print("| document | clause | difference | detail |")
    print("| --- | --- | --- | --- |")
    print("\n".join(differences))


if __name__ == "__main__":
    sys.exit(main())
