#!/usr/bin/python3
"""check-layers.py - the layers of docs/ARCHITECTURE.md, checked against the code.

Reads the tables between the LAYERS markers of docs/ARCHITECTURE.md (the one place they
are written) and every #include and library call of src/. Fails, naming each offence,
when:
- a file is in no layer (a new file must be placed);
- a file includes a header of a layer that comes after its own (calls go downward only),
  or of the other program (common knows neither; the programs know only common);
- the modules' includes form a cycle, but for the sanctioned pairs;
- a file uses a library (its header, or its uv_/rl_ names in code) that its layer may not.
Prints one summary line. Run by `make test`; needs only Python 3's standard library.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
SRC = ROOT / "src"

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
COMMENT_OR_STRING = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
# A library's names in code, once comments and strings are gone.
LIBRARY_NAMES = {"libuv": re.compile(r"\b(?:uv|UV)_\w+"), "readline": re.compile(r"\brl_\w+|\breadline\s*\(")}
LIBRARY_HEADERS = {"libuv": re.compile(r"^uv\.h$|^uv/"), "readline": re.compile(r"^readline/")}


def tables(text):
    """The rows of the markdown tables between the markers, as lists of cells."""
    m = re.search(r"<!-- LAYERS BEGIN.*?-->(.*?)<!-- LAYERS END -->", text, re.S)
    if not m:
        sys.exit(f"check-layers: no LAYERS BEGIN/END markers in {DOC}")
    rows = []
    for line in m.group(1).splitlines():
        line = line.strip()
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        rows.append([c.strip().strip("`") for c in line.strip("|").split("|")])
    return rows


def read_rules():
    rows = tables(DOC.read_text(encoding="utf-8"))
    layers = {}  # (program, module) -> (layer name, rank)
    pairs = set()
    libraries = {}  # library -> set of "program:layer" or "program:module"
    rank = {}
    for cells in rows:
        if cells[0] in ("program", "library", "pair"):
            continue  # a header row
        if len(cells) == 3 and cells[0] in ("common", "server", "client"):
            program, layer, files = cells
            rank.setdefault(program, 0)
            rank[program] += 1
            for module in files.split():
                layers[(program, module)] = (layer, rank[program])
        elif len(cells) == 2 and cells[0] in LIBRARY_NAMES:
            libraries[cells[0]] = set(cells[1].replace(",", " ").split())
        elif len(cells) == 2 and "⇄" in cells[0]:
            a, b = [x.strip() for x in cells[0].split("⇄")]
            pairs.add(frozenset((a, b)))
    return layers, pairs, libraries


def source_files():
    for program in ("common", "server", "client"):
        for path in sorted((SRC / program).glob("*.[ch]")):
            yield program, path


def resolve(program, target):
    """The (program, module) a quoted include names, or None for a file outside src/."""
    parts = target.split("/")
    if len(parts) == 2 and parts[0] in ("common", "server", "client"):
        program, name = parts
    elif len(parts) == 1:
        name = parts[0]
    else:
        return None
    if not (SRC / program / name).exists():
        return None
    return program, name.rsplit(".", 1)[0]


def allowed_library(libraries, library, program, layer, module):
    who = libraries.get(library, set())
    return program in who or f"{program}:{layer}" in who or f"{program}:{module}" in who


def check():
    layers, pairs, libraries = read_rules()
    errors = []
    edges = {}
    n_files = n_includes = 0
    for program, path in source_files():
        module = path.stem
        rel = path.relative_to(ROOT)
        place = layers.get((program, module))
        if not place:
            errors.append(f"{rel}: in no layer of docs/ARCHITECTURE.md")
            continue
        layer, rank = place
        n_files += 1
        text = path.read_text(encoding="utf-8")
        for kind, target in INCLUDE.findall(text):
            n_includes += 1
            if kind == "<":
                for library, header in LIBRARY_HEADERS.items():
                    if header.search(target) and not allowed_library(
                        libraries, library, program, layer, module
                    ):
                        errors.append(f"{rel}: includes <{target}>, which {program}:{layer} may not use")
                continue
            dest = resolve(program, target)
            if not dest or dest == (program, module):
                continue
            dest_place = layers.get(dest)
            if not dest_place:
                continue  # reported as a file in no layer
            if dest[0] != program and dest[0] != "common":
                errors.append(f"{rel}: includes {target}, a header of the {dest[0]} program")
            elif dest[0] == program and dest_place[1] > rank:
                errors.append(
                    f"{rel}: includes {target}: {program}:{layer} may not call up into "
                    f"{program}:{dest_place[0]}"
                )
            edges.setdefault((program, module), set()).add(dest)
        code = COMMENT_OR_STRING.sub(" ", text)
        for library, names in LIBRARY_NAMES.items():
            m = names.search(code)
            if m and not allowed_library(libraries, library, program, layer, module):
                errors.append(f"{rel}: uses {m.group(0)}, from {library}, which {program}:{layer} may not")
    errors += cycles(edges, pairs)
    return errors, n_files, n_includes


def cycles(edges, pairs):
    """Include cycles between modules, but for the sanctioned pairs."""
    found = []
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if frozenset((node[1], nxt[1])) in pairs and node[0] == nxt[0]:
                continue
            if state.get(nxt) == "open":
                loop = path[path.index(nxt):] + [nxt]
                found.append("include cycle: " + " -> ".join(f"{p}/{m}" for p, m in loop))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def main():
    errors, n_files, n_includes = check()
    for e in errors:
        print(f"check-layers: {e}", file=sys.stderr)
    status = "1 failed" if errors else "0 failed"
    print(f"check-layers: {n_files} files, {n_includes} includes checked: "
          f"{'1 passed' if not errors else '0 passed'}, {status}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
