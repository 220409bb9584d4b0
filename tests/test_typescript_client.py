"""A TypeScript client generated from the OpenAPI document type-checks a program that runs an interview."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from conftest import SettingsFactory
from interviewai.app import create_app
from npm_tools import LOCKED, npm_bin, npm_tools

# Reading a question's field from the question-or-completion union without checking `type` first.
UNNARROWED = """
import type { components } from "./api";
type Step = components["schemas"]["QuestionResponse"] | components["schemas"]["CompletionResponse"];
export function questionId(step: Step): number { return step.question_id; }
"""


def _tsc(workdir: Path, *files: str) -> subprocess.CompletedProcess[str]:
    config = json.loads((LOCKED / "tsconfig.json").read_text())
    config["files"] = list(files)
    (workdir / "tsconfig.json").write_text(json.dumps(config))
    return subprocess.run(
        [npm_bin("tsc"), "-p", str(workdir / "tsconfig.json")],
        cwd=workdir, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_generated_client_type_checks_an_interview(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    tools = npm_tools()
    spec = create_app(make_settings()).openapi()
    (tmp_path / "openapi.json").write_text(json.dumps(spec))
    (tmp_path / "node_modules").symlink_to(tools / "node_modules")
    shutil.copyfile(LOCKED / "interview.ts", tmp_path / "interview.ts")
    generated = subprocess.run(
        [npm_bin("openapi-typescript"), "openapi.json", "--default-non-nullable=false", "-o", "api.d.ts"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    types = (tmp_path / "api.d.ts").read_text()
    for operation in ("startInterview", "getQuestion", "submitAnswer", "getStatus", "endInterview"):
        assert f"{operation}: {{" in types, f"{operation} is not in the generated client"

    checked = _tsc(tmp_path, "interview.ts")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # The check has teeth: without narrowing on `type`, a question's field is a type error.
    (tmp_path / "unnarrowed.ts").write_text(UNNARROWED)
    refused = _tsc(tmp_path, "unnarrowed.ts")
    assert refused.returncode != 0
    assert "question_id" in refused.stdout and "TS2339" in refused.stdout, refused.stdout
