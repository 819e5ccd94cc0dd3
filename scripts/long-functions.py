#!/usr/bin/env python3
"""long-functions.py - the functions past LIMIT lines that do not say why.

    scripts/long-functions.py [--limit N] [DIR-OR-FILE...]   (default: src)

Lists every C function longer than LIMIT (80) lines, from its opening
brace to its closing one, that has no comment saying why it is one
piece: the comment directly above the definition, or the first comment
inside its body, must contain the words "one piece".  Prints
"file:line: name: N lines" for each and exits 1 if there is any, 0 when
there is none.

It relies on the tree's layout (.clang-format): a definition's name
starts a line, with the return type on the line above, and its braces
are alone at the start of their lines.
"""
import argparse
import os
import re
import sys

MARKER = re.compile(r"one\s+piece", re.IGNORECASE)
NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(")


def comment_above(lines, i):
    """The block comment that ends on the line just above line i, or ''."""
    j = i - 1
    if j < 0 or not lines[j].rstrip().endswith("*/"):
        return ""
    text = []
    while j >= 0:
        text.append(lines[j])
        if "/*" in lines[j]:
            break
        j -= 1
    return "\n".join(reversed(text))


def first_comment(lines, start, end):
    """The first comment in the body lines [start, end), or ''."""
    for j in range(start, end):
        if "/*" in lines[j]:
            text = []
            for k in range(j, end):
                text.append(lines[k])
                if "*/" in lines[k]:
                    break
            return "\n".join(text)
    return ""


def functions(lines):
    """(name, line of the name, lines from brace to brace, start of the
    definition, opening brace, closing brace) for each definition."""
    i = 0
    while i < len(lines):
        m = NAME.match(lines[i])
        if m is None or i == 0 or lines[i - 1].strip() == "" \
                or lines[i - 1].rstrip().endswith((";", "}", "*/")):
            i += 1
            continue
        # The parameter list may run over several lines; the body's brace
        # is the first line that is exactly "{".
        j = i
        while j < len(lines) and lines[j] != "{":
            if lines[j].rstrip().endswith(";"):
                break
            j += 1
        if j >= len(lines) or lines[j] != "{":
            i += 1
            continue
        k = j + 1
        while k < len(lines) and lines[k] != "}":
            k += 1
        yield m.group(1), i + 1, k - j + 1, i - 1, j, k
        i = k + 1


def check(path, limit):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    found = []
    for name, line, length, head, lbrace, rbrace in functions(lines):
        if length <= limit:
            continue
        # The return type may take more than one line ("static int").
        top = head
        while top > 0 and lines[top - 1].strip() and \
                not lines[top - 1].rstrip().endswith((";", "}", "*/", "{")):
            top -= 1
        why = comment_above(lines, top) + first_comment(lines, lbrace,
                                                         rbrace)
        if not MARKER.search(why):
            found.append((path, line, name, length))
    return found


def c_files(args):
    for a in args:
        if os.path.isdir(a):
            for root, _, names in sorted(os.walk(a)):
                for n in sorted(names):
                    if n.endswith(".c"):
                        yield os.path.join(root, n)
        else:
            yield a


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=80)
    ap.add_argument("paths", nargs="*", default=["src"])
    a = ap.parse_args()
    found = []
    for path in c_files(a.paths):
        found += check(path, a.limit)
    for path, line, name, length in found:
        print("%s:%d: %s: %d lines, and no comment saying why it is "
              "one piece" % (path, line, name, length))
    if found:
        print("%d function(s) over %d lines: split them, or say above "
              "each why it is one piece" % (len(found), a.limit),
              file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
