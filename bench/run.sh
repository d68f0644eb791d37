#!/bin/sh
# nutshell benchmarks: nutshell side by side with a Linux guest under the same QEMU.
#   bench/run.sh            full suite (about 80 minutes on 2 cores, most of it the console row; see BENCHMARKS.md)
#   bench/run.sh --quick    one repetition, small sizes (the test-suite mode)
#   bench/run.sh --help     all options
# Exit status 0: every row has a number or an honest n/a; 1: the harness failed.
exec python3 "$(dirname "$0")/bench.py" "$@"
