#!/usr/bin/env python3
"""The scanner against memchr('<') on pages of one shape each, to show what its time is
made of: the same tag over and over, start and end tags at random, names of random
lengths, random gaps of text, attributes or none, and a mix of all.  A shape where the
ratio falls is one where the scanner's branches go the wrong way (the byte-at-a-time states
are fast when every tag looks alike).

Writes the pages under build/bench/shapes/ and runs bench/bench_scan.bin (built by
`make bench-shapes`) on each, pinned to CPU 1.  Prints figures; asserts nothing."""

import os
import random
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "build" / "bench" / "shapes"
BIN = HERE / "bench_scan.bin"
UNITS = 400000

SHAPES = (
    ("one tag", ["<p>x"]),
    ("start and end", ["<p>x", "</p>x"]),
    ("names", ["<p>x", "<code>x", "<li>x", "<a>x", "<strong>x", "<dd>x"]),
    ("gaps", ["<p>", "<p>" + "x" * 27, "<p>xx", "<p>" + "x" * 8]),
    ("attributes", ["<p>x", '<a href="x.html">x']),
    ("mix", ["<p>x", "</p>x", "<code>x", "</code>", '<a href="../mod/core.html#x">', "</a>",
             "text text ", "<li>", "</li>\n"]),
)


def main():
    rng = random.Random(2)
    print("== the scanner by page shape (%d units each, medians, CPU 1)" % UNITS)
    for name, units in SHAPES:
        directory = OUT / name.replace(" ", "-")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "page.html").write_text("".join(rng.choice(units) for _ in range(UNITS)))
        result = subprocess.run(["taskset", "-c", "1", str(BIN), str(directory)],
                                capture_output=True, text=True, check=True)
        auto = [line for line in result.stdout.splitlines() if line.startswith("auto")]
        print("  %-14s %s" % (name, auto[0][len("auto"):].strip() if auto else "?"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
