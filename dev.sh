#!/usr/bin/env bash
# Sets up funcgrad in ./.venv (only when pyproject.toml changed since the last run), then
#   bash dev.sh main    runs the main job
#   bash dev.sh test    runs the whole test suite three times: as written, then with every
#                       function under jit on the NumPy backend, then on the LLVM backend
#                       with every fusion group compiled natively (extra arguments go to
#                       pytest)
set -euo pipefail
cd "$(dirname "$0")"

python=${PYTHON:-python3}
venv=.venv
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "dev.sh: funcgrad needs Python >= 3.10; set PYTHON=/path/to/python3.11" >&2
    exit 2
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
wanted=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$wanted" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
    echo "$wanted" > "$venv/.installed"
fi

case "${1:-}" in
    main) shift; exec "$venv/bin/python" -m funcgrad "$@" ;;
    test)
        shift
        "$venv/bin/python" -m pytest "$@"
        echo "dev.sh: again, every funcgrad function under jit on the NumPy backend"
        FUNCGRAD_TEST_JIT=1 FUNCGRAD_BACKEND=numpy "$venv/bin/python" -m pytest "$@"
        echo "dev.sh: again, under jit on the LLVM backend, every fusion group a native kernel"
        FUNCGRAD_TEST_JIT=1 FUNCGRAD_BACKEND=llvm FUNCGRAD_LLVM_MIN_SIZE=0 \
            exec "$venv/bin/python" -m pytest "$@" ;;
    *) echo "usage: bash dev.sh main|test [args]" >&2; exit 2 ;;
esac
