// The page's elements and the interview's state, shared by the client's modules, and the error banner.

import { Mouth } from "./mouth.js";

export const $ = (id) => document.getElementById(id);

export const el = {
  body: document.body,
  mouth: new Mouth(),
  presenter: $("presenter"),
  image: $("avatar-image"),
  idle: $("idle-video"),
  clip: $("clip-video"),
  audio: $("question-audio"),
  modeChip: $("mode-chip"),
  voice: $("voice-label"),
  replay: $("replay-button"),
  play: $("play-button"),
  progress: $("progress"),
  progressLabel: $("progress-label"),
  progressBar: $("progress-bar"),
  progressFill: $("progress-fill"),
  intro: $("intro"),
  introTotal: $("intro-total"),
  introFacts: $("intro-facts"),
  keyForm: $("key-form"),
  keyInput: $("api-key"),
  keyNote: $("key-note"),
  start: $("start-button"),
  interview: $("interview"),
  questionType: $("question-type"),
  questionNumber: $("question-number"),
  question: $("question"),
  form: $("answer-form"),
  answer: $("answer"),
  answerCount: $("answer-count"),
  submit: $("submit-button"),
  end: $("end-button"),
  summary: $("summary"),
  summaryTitle: $("summary-title"),
  summaryMessage: $("summary-message"),
  summaryStats: $("summary-stats"),
  summaryAnswers: $("summary-answers"),
  restart: $("restart-button"),
  error: $("error"),
  errorMessage: $("error-message"),
  retry: $("retry-button"),
};

export const state = {
  info: null,
  sessionId: null,
  question: null,
  timings: [],
  visemes: [],
  wordSpans: [],
  currentWord: -1,
  speaker: null, // the media element speaking the current question (audio or clip)
  live: null, // the session's WebSocket, while it is open
  watched: null, // the question whose pending clip the socket will announce
  retry: null,
};

export function setState(name) {
  el.body.dataset.state = name;
}

export function show(section) {
  for (const card of [el.intro, el.interview, el.summary]) card.hidden = card !== section;
}

export function showError(error, retry) {
  console.error(error);
  state.retry = retry;
  el.errorMessage.textContent = error.message || String(error);
  el.retry.textContent = retry?.label ?? "Try again";
  el.error.hidden = false;
  setState("error");
  el.retry.focus();
}

export function clearError() {
  el.error.hidden = true;
  state.retry = null;
}
