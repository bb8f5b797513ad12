#!/usr/bin/python3
"""check-layers.py - the layers of docs/ARCHITECTURE.md, checked against the code.

Reads the tables between the LAYERS markers of docs/ARCHITECTURE.md (the one place they
are written) and every #include and library call under src/; with --objects, also the
symbols each compiled module uses, which catches a call made through a prototype written
by hand. Fails, naming each offence, when:
- a file is in no layer (a new file must be placed);
- a file includes, or calls into, a module of a layer that comes after its own (calls go
  downward only), or of the other program (common knows neither; the programs know only
  common); an include that leaves src/ or cannot be told apart is refused too;
- the modules form a cycle (a strongly connected set), but for one whose every call is
  between the two modules of a sanctioned pair;
- a file uses a library (its header, or its uv_/rl_/SSL_... names in code) that its layer
  may not.
Prints one summary line. Run by `make test`; needs Python 3's standard library and, with
--objects, binutils' nm.
"""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

PROGRAMS = ("common", "server", "client")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
COMMENT_OR_STRING = re.compile(
    r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S
)
# A library's names in code, once comments and strings are gone, and its headers.
LIBRARY_NAMES = {
    "libuv": re.compile(r"\b(?:uv|UV)_\w+"),
    "readline": re.compile(r"\brl_\w+|\breadline\s*\("),
    # OpenSSL's prefixes; not TLS_, which is also our tls module's own.
    "openssl": re.compile(r"\b(?:SSL|BIO|X509|EVP|ERR|PEM|ASN1|OPENSSL)_\w+"),
    "wslay": re.compile(r"\b(?:wslay|WSLAY)_\w+"),
    # http-parser's own names; not http_, which is also our http module's.
    "http_parser": re.compile(r"\bhttp_parser\w*|\bhttp_(?:errno|method|should_keep_alive)\w*|\bHPE_\w+"),
    "sqlite3": re.compile(r"\b(?:sqlite3|SQLITE)_\w+"),
    "sodium": re.compile(r"\b(?:sodium|crypto|randombytes)_\w+"),
    # nats.c's types name its functions: natsConnection_Connect, js_Subscribe, kvStore_Get.
    "nats": re.compile(r"\b(?:nats[A-Z]?[A-Za-z]*|js[A-Z]?[A-Za-z]*|kv[A-Z][A-Za-z]*|NATS)_\w+"),
}
LIBRARY_HEADERS = {
    "libuv": re.compile(r"^uv\.h$|^uv/"),
    "readline": re.compile(r"^readline/"),
    "openssl": re.compile(r"^openssl/"),
    "wslay": re.compile(r"^wslay/"),
    "http_parser": re.compile(r"^http_parser\.h$"),
    "sqlite3": re.compile(r"^sqlite3\.h$"),
    "sodium": re.compile(r"^sodium(?:\.h|/)"),
    "nats": re.compile(r"^nats/"),
}


class Rules:
    def __init__(self, doc):
        m = re.search(r"<!-- LAYERS BEGIN.*?-->(.*?)<!-- LAYERS END -->", doc, re.S)
        if not m:
            sys.exit("check-layers: no LAYERS BEGIN/END markers in docs/ARCHITECTURE.md")
        self.layers = {}  # (program, module) -> (layer, rank)
        self.pairs = set()  # frozensets of two modules of one program
        self.libraries = {}  # library -> who may use it
        rank = {}
        for cells in rows(m.group(1)):
            if len(cells) == 3 and cells[0] in PROGRAMS:
                program, layer, modules = cells
                rank[program] = rank.get(program, 0) + 1
                for module in modules.split():
                    self.layers[(program, module)] = (layer, rank[program])
            elif len(cells) == 2 and cells[0] in LIBRARY_NAMES:
                self.libraries[cells[0]] = set(cells[1].replace(",", " ").split())
            elif len(cells) == 2 and "⇄" in cells[0]:
                a, b = [x.strip() for x in cells[0].split("⇄")]
                self.pairs.add(frozenset((a, b)))

    def may_use_library(self, library, program, layer, module):
        who = self.libraries.get(library, set())
        return program in who or f"{program}:{layer}" in who or f"{program}:{module}" in who

    def call(self, src, dest):
        """Why src (program, module) may not use dest, or None if it may."""
        if dest == src:
            return None
        here, there = self.layers.get(src), self.layers.get(dest)
        if not here or not there:
            return None  # reported as a file in no layer
        if dest[0] != src[0] and dest[0] != "common":
            return f"a module of the {dest[0]} program"
        if dest[0] == src[0] and there[1] > here[1]:
            return f"{src[0]}:{here[0]} may not call up into {dest[0]}:{there[0]}"
        return None


def rows(text):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and not set(line) <= set("|-: "):
            cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
            if cells[0] not in ("program", "library", "pair"):
                yield cells


def module_of(src, path):
    """(program, module) of a file under src/: the module is its path below the program's
    folder, without the extension ("client", "tls/record")."""
    rel = path.relative_to(src)
    return rel.parts[0], str(rel.with_suffix("").relative_to(rel.parts[0]))


def resolve(src, including, kind, target):
    """The file under src/ an include names: (program, module), None for a system header,
    or a string saying why it is refused."""
    candidates = []
    if kind == '"':
        candidates.append(including.parent / target)
    candidates.append(src / target)  # -Isrc: "common/buf.h", <server/session.h>
    for c in candidates:
        c = Path(os.path.normpath(c))
        if c.exists():
            try:
                c.relative_to(src)
            except ValueError:
                return f"{target}, outside src/"
            if c.relative_to(src).parts[0] not in PROGRAMS:
                return f"{target}, outside the programs' folders"
            return module_of(src, c)
    if ".." in Path(target).parts:
        return f"{target}, a path that climbs out of its folder"
    return None


def check_sources(src, rules):
    errors, edges = [], {}
    n_files = n_includes = 0
    for program in PROGRAMS:
        for path in sorted((src / program).rglob("*.[ch]")):
            me = module_of(src, path)
            place = rules.layers.get(me)
            rel = path.relative_to(src.parent)
            if not place:
                errors.append(f"{rel}: in no layer of docs/ARCHITECTURE.md")
                continue
            n_files += 1
            text = path.read_text(encoding="utf-8")
            for kind, target in INCLUDE.findall(text):
                n_includes += 1
                for library, header in LIBRARY_HEADERS.items():
                    if kind == "<" and header.search(target) and not rules.may_use_library(
                        library, program, place[0], me[1]
                    ):
                        errors.append(f"{rel}: includes <{target}>, which {program}:{place[0]} may not use")
                dest = resolve(src, path, kind, target)
                if isinstance(dest, str):
                    errors.append(f"{rel}: includes {dest}")
                elif dest:
                    why = rules.call(me, dest)
                    if why:
                        errors.append(f"{rel}: includes {target}: {why}")
                    if dest != me:
                        edges.setdefault(me, set()).add(dest)
            code = COMMENT_OR_STRING.sub(" ", text)
            for library, names in LIBRARY_NAMES.items():
                m = names.search(code)
                if m and not rules.may_use_library(library, program, place[0], me[1]):
                    errors.append(f"{rel}: uses {m.group(0)}, from {library}, which {program}:{place[0]} may not")
    return errors, edges, n_files, n_includes


def nm(path, *flags):
    out = subprocess.run(["nm", *flags, str(path)], capture_output=True, text=True, check=True)
    return [line.split()[-1] for line in out.stdout.splitlines() if line.strip()]


def check_objects(objects, rules):
    """Every symbol a compiled module uses from another module: a call by prototype alone
    is a call all the same."""
    objs = {}
    for program in PROGRAMS:
        for o in sorted((objects / program).rglob("*.o")) if (objects / program).exists() else []:
            objs[module_of(objects, o)] = o
    owner = {program: {} for program in PROGRAMS}  # each program links alone, with common
    for mod, o in objs.items():
        for sym in nm(o, "--defined-only", "-g"):
            owner[mod[0]].setdefault(sym, mod)
    errors, edges, n = [], {}, 0
    for mod, o in objs.items():
        for sym in nm(o, "-u"):
            dest = owner[mod[0]].get(sym) or owner["common"].get(sym)
            if not dest or dest == mod:
                continue
            n += 1
            why = rules.call(mod, dest)
            if why:
                errors.append(f"{mod[0]}/{mod[1]}.o uses {sym}: {why}")
            edges.setdefault(mod, set()).add(dest)
    return errors, edges, n


def cycles(edges, pairs):
    """Strongly connected sets of modules (Tarjan), but for those made only of sanctioned
    pairs (two pairs that share a module, as session with commands and with login, make a
    set of three whose every call is one of a pair's)."""
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            members = set(scc)
            sanctioned = len({p for p, _ in scc}) == 1 and all(
                frozenset((a[1], b[1])) in pairs
                for a in scc
                for b in edges.get(a, ())
                if b in members and b != a
            )
            if len(scc) > 1 and not sanctioned:
                found.append("cycle: " + " ⇄ ".join(sorted(f"{p}/{m}" for p, m in scc)))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=Path(__file__).resolve().parents[1], type=Path,
                    help="the tree to check (default: this repository)")
    ap.add_argument("--objects", type=Path,
                    help="BUILD/obj/src: also check the symbols the compiled modules use")
    args = ap.parse_args()
    src = args.root / "src"
    rules = Rules((args.root / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8"))
    errors, edges, n_files, n_includes = check_sources(src, rules)
    n_symbols = 0
    if args.objects:
        more, sym_edges, n_symbols = check_objects(args.objects, rules)
        errors += more
        for k, v in sym_edges.items():
            edges.setdefault(k, set()).update(v)
    errors += cycles(edges, rules.pairs)
    for e in errors:
        print(f"check-layers: {e}", file=sys.stderr)
    sys.stderr.flush()
    checked = f"{n_files} files, {n_includes} includes"
    if args.objects:
        checked += f", {n_symbols} calls between modules"
    print(f"check-layers: {checked} checked: {0 if errors else 1} passed, {1 if errors else 0} failed")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
