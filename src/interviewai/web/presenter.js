// The presenter: speaks the current question (its audio with the drawn mouth, or its clip), highlights the
// word being spoken, rests on the idle loop or the image, and swaps a clip in when `video_ready` lands.

import { keyed } from "./api.js";
import { el, setState, state } from "./dom.js";
import { visemeAt } from "./mouth.js";

/** The question's text as one span per word, for the highlight that follows the voice. */
export function renderWords(text) {
  const spans = [];
  const nodes = [];
  for (const part of text.split(/(\s+)/)) {
    if (!part) continue;
    if (/^\s+$/.test(part)) {
      nodes.push(document.createTextNode(part));
      continue;
    }
    const span = document.createElement("span");
    span.className = "word";
    span.textContent = part;
    span.dataset.index = String(spans.length);
    spans.push(span);
    nodes.push(span);
  }
  el.question.replaceChildren(...nodes);
  state.wordSpans = spans;
  state.currentWord = -1;
  el.question.dataset.currentWord = "-1";
}

function setView(view) {
  el.presenter.dataset.view = view;
  el.clip.hidden = view !== "clip";
  el.idle.hidden = view !== "idle";
  if (view === "idle") el.idle.play().catch(() => setView("image"));
  else el.idle.pause();
}

export function prepareIdle(url) {
  if (el.idle.dataset.src === url) return;
  el.idle.dataset.src = url;
  el.idle.src = url;
}

export function restingView() {
  setView(el.idle.dataset.src ? "idle" : "image");
}

export function stopSpeaking() {
  for (const media of [el.audio, el.clip]) {
    media.pause();
  }
  state.speaker = null;
  el.play.hidden = true;
}

export function speak(from = 0) {
  const question = state.question;
  if (!question) return;
  stopSpeaking();
  if (question.video_url) {
    if (el.clip.dataset.src !== question.video_url) {
      el.clip.dataset.src = question.video_url;
      el.clip.src = question.video_url;
    }
    state.speaker = el.clip;
    setView("clip");
  } else {
    const source = question.audio_url || `data:audio/mpeg;base64,${question.audio_base64}`;
    if (el.audio.dataset.src !== source) {
      el.audio.dataset.src = source;
      el.audio.src = source;
    }
    state.speaker = el.audio;
    setView("image");
  }
  const speaker = state.speaker;
  speaker.currentTime = from;
  setState("speaking");
  speaker.play().catch((error) => {
    if (speaker !== state.speaker) return;
    if (error.name === "NotAllowedError") {
      // The browser wants a click before it plays sound.
      el.play.hidden = false;
      setState("listening");
      el.play.focus();
    } else if (speaker === el.clip) {
      fallBackToAudio();
    } else {
      finishSpeaking();
    }
  });
}

export function fallBackToAudio() {
  // The clip could not be played: speak the same question audio-only, with the drawn mouth.
  if (!state.question) return;
  state.question = { ...state.question, video_url: null, video_status: "failed" };
  el.presenter.dataset.video = "failed";
  el.modeChip.textContent = "audio + lip-sync";
  speak();
}

export function finishSpeaking() {
  if (el.body.dataset.state === "speaking") setState("listening");
  state.speaker = null;
  highlightWord(-1);
  restingView();
}

/** `video_ready` for the question on screen: the clip replaces the drawn presenter (now, or on Replay). */
export function videoReady({ question_id: id, video_url: given }) {
  const question = state.question;
  if (!question || question.question_id !== id || question.video_url || question.video_status === "failed") return;
  const url = keyed(given);
  state.question = { ...question, video_url: url, avatar_mode: "video", video_status: "ready", fallback_reason: null };
  el.presenter.dataset.video = "ready";
  el.modeChip.textContent = "video presenter";
  el.clip.dataset.src = url;
  el.clip.src = url;
  if (state.speaker !== el.audio || el.audio.paused) return; // Replay will use the clip
  // Mid-question: keep the audio going until the clip can play, then carry on in the clip from the same moment.
  el.clip.addEventListener(
    "canplay",
    () => {
      if (state.question?.video_url === url && state.speaker === el.audio && !el.audio.paused) {
        speak(el.audio.currentTime);
      }
    },
    { once: true },
  );
}

function activeTime() {
  const speaker = state.speaker;
  if (!speaker || speaker.paused || speaker.ended) return null;
  return speaker.currentTime;
}

function wordAt(time) {
  let index = -1;
  for (let i = 0; i < state.timings.length; i += 1) {
    if (state.timings[i].start <= time) index = i;
    else break;
  }
  return index;
}

export function highlightWord(index) {
  if (index === state.currentWord) return;
  state.currentWord = index;
  el.question.dataset.currentWord = String(index);
  state.wordSpans.forEach((span, i) => {
    span.classList.toggle("current", i === index);
    span.classList.toggle("spoken", index >= 0 && i < index);
  });
}

function animate() {
  const time = activeTime();
  if (time !== null) {
    highlightWord(wordAt(time));
    el.mouth.draw(state.speaker === el.audio ? visemeAt(state.visemes, time) : "sil");
  } else {
    el.mouth.draw("sil");
  }
  requestAnimationFrame(animate);
}

/** Wire the media elements' events and start the highlight and mouth loop. */
export function setupPresenter() {
  for (const media of [el.audio, el.clip]) {
    media.addEventListener("ended", () => {
      if (media === state.speaker) finishSpeaking();
    });
  }
  el.clip.addEventListener("error", () => {
    if (state.speaker === el.clip) fallBackToAudio();
  });
  el.audio.addEventListener("error", () => {
    if (state.speaker === el.audio) finishSpeaking();
  });
  el.idle.addEventListener("error", () => {
    delete el.idle.dataset.src;
    if (el.presenter.dataset.view === "idle") setView("image");
  });
  el.replay.addEventListener("click", () => speak());
  el.play.addEventListener("click", () => {
    el.play.hidden = true;
    speak();
  });
  requestAnimationFrame(animate);
}
