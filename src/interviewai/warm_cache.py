"""`interviewai warm-cache`: render the bank (or a role's library questions) ahead of time, resumably."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from tqdm import tqdm

from interviewai.container import Container, build_container
from interviewai.domain.errors import ProviderError
from interviewai.domain.follow_ups import all_follow_up_texts
from interviewai.domain.questions import Question
from interviewai.settings import Settings, SettingsError


@dataclass
class WarmReport:
    """What one warm-cache run did: items made ready, syntheses run, clips created or failed, and its wall
    time."""

    questions: int = 0
    follow_ups: int = 0
    syntheses: int = 0
    clips_created: int = 0
    clips_failed: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the terminal: questions and follow-ups ready, in how long, and what it took."""
        return (
            f"{self.questions} questions ready in {self.seconds:.1f} s (and {self.follow_ups} follow-ups): "
            f"{self.syntheses} syntheses, {self.clips_created} clips created, {self.clips_failed} clips failed"
        )


def questions_to_warm(container: Container, role: str | None, all_roles: bool) -> list[Question]:
    """The default bank; with `role`, that role's and the general questions of the library; with
    `all_roles`, the whole library too. Raises SettingsError for a role the library does not have."""
    library = container.plans.catalog
    chosen = list(container.interviews.bank.questions)
    if role is not None and library.role(role) is None:
        allowed = ", ".join(r.id for r in library.roles) or "none"
        raise SettingsError(f"warm-cache: unknown role {role!r}; allowed: {allowed}")
    if all_roles:
        chosen += library.questions
    elif role is not None:
        chosen += [q for q in library.questions if q.is_general or role in q.roles]
    # The same text is one cache entry, whatever bank it comes from.
    return list({q.text: q for q in chosen}.values())


async def warm_cache(
    settings: Settings,
    *,
    role: str | None = None,
    all_roles: bool = False,
    show_progress: bool = True,
    follow_ups: bool = True,
) -> WarmReport:
    """Speak each question and render its clip (when video is on); cached items cost nothing.

    With `follow_ups`, the fixed follow-up phrasings too, so a follow-up never waits for its media.

    Interrupting it is safe: a clip already created at the provider is recorded at once, so the next
    run resumes it instead of paying for a new one.
    """
    report = WarmReport()
    started = time.perf_counter()
    async with build_container(settings) as container:
        items = [(f"question {q.id}", q.text) for q in questions_to_warm(container, role, all_roles)]
        if follow_ups:
            items += [(f"follow-up {n}", text) for n, text in enumerate(all_follow_up_texts(), start=1)]
        avatar = container.avatar
        with tqdm(total=len(items), unit="question", disable=not show_progress) as bar:
            for name, text in items:
                bar.set_description(name)
                speech = await container.speech_media.speech_for(text)
                if avatar.video_on:
                    try:
                        await avatar.render(text, speech)
                    except ProviderError as error:
                        report.clips_failed += 1
                        bar.write(f"{name}: no clip ({error})")
                if name.startswith("question"):
                    report.questions += 1
                else:
                    report.follow_ups += 1
                bar.update(1)
        report.syntheses = container.speech_media.syntheses
        report.clips_created = avatar.clips_created
    report.seconds = time.perf_counter() - started
    return report


def run(settings: Settings, *, role: str | None = None, all_roles: bool = False) -> int:
    """The `warm-cache` command: warm, print the summary; exits 0, 1 when any clip failed, 130 when
    interrupted."""
    try:
        report = asyncio.run(warm_cache(settings, role=role, all_roles=all_roles))
    except KeyboardInterrupt:
        print("interrupted: run warm-cache again to resume where it stopped")
        return 130
    print(report.summary())
    return 0 if report.clips_failed == 0 else 1
