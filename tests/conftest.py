"""Run-wide test settings: say which dtype "auto" means in this run, on which kind of CPU.

Why: the CPUs these tests run on differ (with or without fast bf16), and `resolve_dtype("auto")`
follows the CPU, so the same suite takes another numeric path on another machine. The header makes
the path visible in every log; `make test` runs the `dtype_sensitive` tests a second time with
`PRICING_DTYPE` set to the other dtype, so either kind of machine checks both paths.
"""

import os

from agent.hardware import DTYPE_ENV, cpu_kind, resolve_dtype


def pytest_report_header(config) -> str:
    dtype = str(resolve_dtype("auto")).removeprefix("torch.")
    forced = os.environ.get(DTYPE_ENV)
    why = f"forced by {DTYPE_ENV}={forced}" if forced else "from the CPU"
    return f"dtype auto = {dtype} ({why}; CPU kind: {cpu_kind()})"
