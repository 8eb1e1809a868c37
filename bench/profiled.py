"""Run a module as `python -m` would, under cProfile switched on by SIGUSR1 and off by SIGUSR2
(each SIGUSR2 writes what was recorded since the last one to `$CALLS_OUT.<n>`, n from 0):
bench/calls.py's server. `python bench/profiled.py [anything...] -m module args...`; what comes
before `-m` is ignored (bench/run.py's prefix puts the interpreter there)."""

from __future__ import annotations

import cProfile
import os
import runpy
import signal
import sys
from typing import Any

profile = cProfile.Profile()
dumps = 0


def _on(*_: Any) -> None:
    profile.enable()


def _off(*_: Any) -> None:
    global profile, dumps
    profile.disable()
    profile.dump_stats(f"{os.environ['CALLS_OUT']}.{dumps}")
    dumps += 1
    profile = cProfile.Profile()


if __name__ == "__main__":
    args = sys.argv[1:]
    if "-m" not in args or args.index("-m") + 1 >= len(args):
        raise SystemExit("usage: profiled.py [...] -m module [args...]")
    module, rest = args[args.index("-m") + 1], args[args.index("-m") + 2 :]
    signal.signal(signal.SIGUSR1, _on)
    signal.signal(signal.SIGUSR2, _off)
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
