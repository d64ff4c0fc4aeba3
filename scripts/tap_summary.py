#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the results in kselftest TAP output and print the closing line.

    tap_summary.py [--no-skip PREFIX] OUTPUT.log [--fail REASON ...]
                   [--fail-if-clean REASON]

Counts leaf results: the test cases a kselftest_harness binary reports
(nested, as '# ok 3 fixture.variant.test'), or the binary's own result when
it reports none.  A binary that reports cases and still fails (crash,
timeout after its last case) adds one failure.  Each --fail REASON (a kernel
splat, a guest that did not finish) adds one failure; --fail-if-clean
REASON adds one only if nothing else failed (the runner said it failed,
but no TAP line says which).  --no-skip PREFIX counts a skip as a failure
in every binary whose result line names it PREFIX... (our own tests must run
on the test machine, which has every device they need).

Prints 'N passed, N failed, N skipped' last; exits 1 if anything failed or
nothing ran.
"""
import re
import sys

RESULT = re.compile(r"^((?:# )*)(not ok|ok) \d+ (.*?)(?:\s+#\s*(SKIP|TODO|TIMEOUT|XFAIL)\b.*)?$",
                    re.IGNORECASE)


def count(lines, no_skip=None):
    passed = failed = skipped = 0
    nested = []                 # results seen inside the current binary
    bad = []
    for line in lines:
        m = RESULT.match(line.rstrip())
        if not m:
            continue
        depth = len(m.group(1)) // 2
        ok = m.group(2) == "ok"
        directive = (m.group(4) or "").upper()
        if depth > 1:
            continue            # deeper nesting: counted by its parent
        if depth == 1:
            nested.append((ok, directive, m.group(3)))
            continue
        # Top-level result: one test binary.
        strict = no_skip is not None and m.group(3).startswith(no_skip)
        if strict and directive == "SKIP":
            directive = ""
            ok = False
        if nested:
            for n_ok, n_dir, name in nested:
                if strict and n_dir == "SKIP":
                    failed += 1
                    bad.append(name + " # SKIP (not allowed here)")
                elif n_dir in ("SKIP", "XFAIL"):
                    skipped += 1
                elif n_ok:
                    passed += 1
                else:
                    failed += 1
                    bad.append(name)
            if not ok and directive != "SKIP" and all(n[0] for n in nested):
                failed += 1
                bad.append(m.group(3) + " (after its cases)")
        elif directive == "SKIP":
            skipped += 1
        elif ok:
            passed += 1
        else:
            failed += 1
            bad.append(m.group(3) + (" # " + directive if directive else ""))
        nested = []
    return passed, failed, skipped, bad


def main():
    args = sys.argv[1:]
    fails = []
    if_clean = None
    while "--fail" in args:
        i = args.index("--fail")
        fails.append(args[i + 1])
        del args[i:i + 2]
    no_skip = None
    if "--no-skip" in args:
        i = args.index("--no-skip")
        no_skip = args[i + 1]
        del args[i:i + 2]
    if "--fail-if-clean" in args:
        i = args.index("--fail-if-clean")
        if_clean = args[i + 1]
        del args[i:i + 2]
    try:
        with open(args[0], errors="replace") as f:
            passed, failed, skipped, bad = count(f, no_skip)
    except OSError as e:
        passed, failed, skipped, bad = 0, 0, 0, []
        fails.append("no test output (%s)" % e.strerror)
    if not passed + skipped + failed + len(fails):
        fails.append("no results in %s" % args[0])
    if if_clean and not failed and not fails:
        fails.append(if_clean)
    bad += fails
    failed += len(fails)
    for name in bad:
        print("FAILED: " + name)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
