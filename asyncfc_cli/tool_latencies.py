"""Tool latencies measured by ``python -m asyncfc_cli.bench.measure`` (generated; do not edit).

Median seconds of real tool calls on the benchmark's fixture repository.
"""

MEASURED_ON = '2026-11-25'
MACHINE = 'x86_64, CPython 3.11.7'

TOOL_LATENCIES: dict[str, float] = {
    'read_file': 0.0001,
    'write_file': 0.0005,
    'edit_file': 0.0005,
    'list_files': 0.002,
    'grep': 0.0031,
    'outline': 0.0003,
    'shell': 0.0029,
    'lint': 0.0209,
    'build': 0.0445,
    'pytest_file': 0.4221,
    'pytest_suite': 2.4709,
    'run_tests_file': 0.7754,
    'run_tests': 2.8592,
}
