"""Tool latencies measured by ``python -m asyncfc_cli.bench.measure`` (generated; do not edit).

Median seconds of real tool calls on the benchmark's fixture repository.
"""

MEASURED_ON = '2026-11-25'
MACHINE = 'x86_64, CPython 3.11.7'

TOOL_LATENCIES: dict[str, float] = {
    'read_file': 0.0001,
    'write_file': 0.0006,
    'edit_file': 0.0006,
    'list_files': 0.0019,
    'grep': 0.0027,
    'outline': 0.0002,
    'shell': 0.0028,
    'lint': 0.0185,
    'build': 0.039,
    'pytest_file': 0.3753,
    'pytest_suite': 2.4314,
    'run_tests': 2.6876,
}
