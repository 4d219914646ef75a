"""Prints how long `import kandle` adds to `import numpy` (a measurement, not a test).

    python .ci/import_time.py [--runs N]

Each timing is the best of N fresh interpreters, after one warm-up run; `-X importtime`
gives kandle's own cumulative import time, with numpy already imported.
"""

import argparse
import re
import subprocess
import sys
import time


def wall(code: str, runs: int) -> float:
    """Best wall time in seconds of `python -c code` over `runs` fresh processes."""
    subprocess.run([sys.executable, "-c", code], check=True)  # warm-up: caches, .pyc
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def importtime_us(runs: int) -> int:
    """Best `-X importtime` cumulative microseconds of the top-level `kandle` import."""
    best = None
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import numpy, kandle"],
            capture_output=True,
            text=True,
            check=True,
        )
        # "import time: self [us] | cumulative | imported package"; top level: no indent.
        m = re.search(r"^import time:\s*\d+ \|\s*(\d+) \| kandle$", done.stderr, re.M)
        if m is None:
            raise SystemExit("no `kandle` line in the -X importtime output")
        us = int(m.group(1))
        best = us if best is None else min(best, us)
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    numpy_s = wall("import numpy", runs)
    both_s = wall("import numpy, kandle", runs)
    print(
        f"import time, best of {runs} fresh processes: python -c 'import numpy' "
        f"{numpy_s * 1e3:.0f} ms; 'import numpy, kandle' {both_s * 1e3:.0f} ms; "
        f"kandle adds {(both_s - numpy_s) * 1e3:.0f} ms"
    )
    print(f"-X importtime, kandle cumulative after numpy: {importtime_us(runs) / 1e3:.1f} ms")


if __name__ == "__main__":
    main()
