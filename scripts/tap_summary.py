#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the results in kselftest TAP output and print the closing line.

    tap_summary.py [--no-skip PREFIX] [--ktap CONSOLE.log ...] OUTPUT.log ...
                   [--fail REASON ...] [--fail-if-clean REASON]

Counts leaf results: the test cases a kselftest_harness binary reports
(nested, as '# ok 3 fixture.variant.test'), or the binary's own result when
it reports none.  A binary that reports cases and still fails (crash,
timeout after its last case) adds one failure.  Each --fail REASON (a kernel
splat, a guest that did not finish) adds one failure; each --fail-if-clean
REASON adds one only if nothing else failed (a runner said it failed, but
no TAP line says which).  --no-skip PREFIX counts a skip as a failure
in every binary whose result line names it PREFIX... (our own tests must run
on the test machine, which has every device they need).

Each --ktap CONSOLE.log is a kernel console log holding the KTAP that
KUnit printed at boot: its leaf results (parameterised cases, or cases
without parameters) are counted too, a skip as a skip.  A console log
without any KUnit result is a failure.  With several OUTPUT.log files (one
per boot), failures are prefixed with the file's directory.

Prints 'N passed, N failed, N skipped' last; exits 1 if anything failed or
nothing ran.
"""
import os
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


KTAP_RESULT = re.compile(r"^( *)(not ok|ok) \d+ (.*?)(?:\s+#\s*(SKIP|TODO)\b.*)?$",
                         re.IGNORECASE)
CONSOLE_PREFIX = re.compile(r"^\[ *\d+\.\d+\] ")


def count_ktap(lines):
    """Leaf results of the KTAP in a console log (4 spaces per level)."""
    passed = failed = skipped = 0
    bad = []
    pending = {}                # depth -> results at that depth, not yet claimed
    seen = False
    for line in lines:
        line = CONSOLE_PREFIX.sub("", line.rstrip("\r\n"))
        if line.lstrip().startswith("KTAP version"):
            seen = True
            continue
        m = KTAP_RESULT.match(line) if seen else None
        if not m:
            continue
        depth = len(m.group(1)) // 4
        ok = m.group(2) == "ok"
        children = pending.get(depth + 1, [])
        for d in [d for d in pending if d > depth]:
            del pending[d]
        pending.setdefault(depth, []).append(ok)
        if children:
            if not ok and all(children):
                failed += 1
                bad.append("KUnit " + m.group(3))
            continue
        if (m.group(4) or "").upper() == "SKIP":
            skipped += 1
        elif ok:
            passed += 1
        else:
            failed += 1
            bad.append("KUnit " + m.group(3))
    return passed, failed, skipped, bad


def main():
    args = sys.argv[1:]
    fails = []
    while "--fail" in args:
        i = args.index("--fail")
        fails.append(args[i + 1])
        del args[i:i + 2]
    no_skip = None
    if "--no-skip" in args:
        i = args.index("--no-skip")
        no_skip = args[i + 1]
        del args[i:i + 2]
    if_clean = []
    while "--fail-if-clean" in args:
        i = args.index("--fail-if-clean")
        if_clean.append(args[i + 1])
        del args[i:i + 2]
    ktap = []
    while "--ktap" in args:
        i = args.index("--ktap")
        ktap.append(args[i + 1])
        del args[i:i + 2]
    passed = failed = skipped = 0
    bad = []
    multi = len(args) > 1
    inputs = [(path, lambda f: count(f, no_skip), "no test output", "no results")
              for path in args]
    inputs += [(path, count_ktap, "no console log", "no KUnit results")
               for path in ktap]
    for path, counter, missing, empty in inputs:
        boot = os.path.basename(os.path.dirname(os.path.abspath(path)))
        label = "[%s] " % boot if boot and (multi or ktap) else ""
        try:
            with open(path, errors="replace") as f:
                p, fl, sk, b = counter(f)
        except OSError as e:
            fails.append("%s%s in %s (%s)" % (label, missing, path, e.strerror))
            continue
        if not p + fl + sk:
            fails.append("%s%s in %s" % (label, empty, path))
        passed, failed, skipped = passed + p, failed + fl, skipped + sk
        bad += [label + name for name in b]
    if if_clean and not failed and not fails:
        fails += if_clean
    bad += fails
    failed += len(fails)
    for name in bad:
        print("FAILED: " + name)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
