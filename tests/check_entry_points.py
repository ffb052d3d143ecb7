#!/usr/bin/env python3
"""Every IE_API function of include/infoest*.h that takes a context is in
test_error_state's lists: `clears` (tested: a success after a failure reads
clean) or `keeps` (leaves the error state).  The rule of include/infoest.h:
a call that takes a non-const `ie_context *` and returns ie_status clears;
so such a call in `keeps`, or a call in `clears` that is not one, fails too.

usage: check_entry_points.py INCLUDE_DIR TEST_ERROR_STATE_EXECUTABLE
"""
import glob
import os
import re
import subprocess
import sys


def declarations(include_dir):
    """(name, return type, params) of every IE_API function."""
    out = []
    for path in sorted(glob.glob(os.path.join(include_dir, "infoest*.h"))):
        if path.endswith("infoest_testing.h"):  # test-only hooks, no context
            continue
        text = open(path, encoding="utf-8").read()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        for m in re.finditer(r"\bIE_API\s+([^;()]*?)\b(ie_\w+)\s*\(([^)]*)\)\s*;", text):
            out.append((m.group(2), " ".join(m.group(1).split()), " ".join(m.group(3).split()), path))
    return out


def main():
    include_dir, exe = sys.argv[1], sys.argv[2]
    listed = subprocess.run([exe, "--list"], check=True, capture_output=True, text=True).stdout.split("\n")
    clears = {l.split()[1] for l in listed if l.startswith("clears ")}
    keeps = {l.split()[1] for l in listed if l.startswith("keeps ")}
    problems = []
    decls = declarations(include_dir)
    if len(decls) < 30:
        problems.append(f"only {len(decls)} IE_API declarations found: the parser is broken")
    seen = set()
    for name, ret, params, path in decls:
        seen.add(name)
        # a context parameter: `ie_context *x` or `const ie_context *x`, not `ie_context **`
        ctx_params = re.findall(r"(const\s+)?ie_context\s*\*(?!\*)", params)
        if not ctx_params:
            continue
        must_clear = ret == "ie_status" and any(not c for c in ctx_params)
        where = os.path.basename(path)
        if name not in clears and name not in keeps:
            problems.append(f"{name} ({where}) takes a context but is in neither list of "
                            f"tests/test_error_state.c: add it to `extras` (or to `keeps`)")
        elif must_clear and name not in clears:
            problems.append(f"{name} ({where}) returns ie_status on a non-const context: it must clear "
                            f"the error and be tested, not be in `keeps`")
        elif not must_clear and name in clears:
            problems.append(f"{name} ({where}) is tested as clearing, but the header's rule does not "
                            f"cover it ({ret} ... ({params}))")
    for name in sorted((clears | keeps) - seen):
        problems.append(f"{name} is listed in tests/test_error_state.c but declared in no header")
    for p in problems:
        print("FAIL:", p)
    n = sum(1 for d in decls if re.search(r"ie_context\s*\*(?!\*)", d[2]))
    print(f"check_entry_points: {len(decls)} IE_API functions, {n} take a context, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
