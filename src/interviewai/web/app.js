// The InterviewAI web client: runs an interview over the public API, as any other client would: the session
// is started over HTTP, questions and answers go over the WebSocket with `wait=0` (HTTP `?wait=0` if the
// socket cannot be had), so a question never waits for its clip; `video_ready` swaps the clip in.
//
// State a test (or a curious developer) can read from the DOM:
//   body[data-state]               loading | ready | starting | speaking | listening | submitting | complete | error
//   #question[data-question-id]    the question on screen
//   #question[data-current-word]   index of the word being spoken (-1 when none)
//   #mouth[data-viseme]            the mouth shape drawn now (Oculus visemes: sil PP FF TH DD kk CH SS nn RR aa E I O U)
//   #presenter[data-view]          image | clip | idle
//   #presenter[data-video]         none | pending | ready | failed   (the current question's clip)

import { LiveChannel } from "./live.js";
import { Mouth, visemeAt } from "./mouth.js";
import { setupStartScreen, startOptions } from "./start.js";
import { voiceLabel } from "./voice.js";
import { setupMic } from "./mic.js";

const API = new URL("api/v1/", document.baseURI);
const $ = (id) => document.getElementById(id);

const el = {
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

const state = {
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

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function describe(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((p) => `${(p.loc || []).join(".")}: ${p.msg}`).join("; ");
  return "The server could not handle the request.";
}

async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(new URL(path, API), init);
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection and try again.");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, data?.code ?? "http_error", describe(data?.detail));
  }
  return data;
}

function setState(name) {
  el.body.dataset.state = name;
}

function show(section) {
  for (const card of [el.intro, el.interview, el.summary]) card.hidden = card !== section;
}

function showError(error, retry) {
  console.error(error);
  state.retry = retry;
  el.errorMessage.textContent = error.message || String(error);
  el.retry.textContent = retry?.label ?? "Try again";
  el.error.hidden = false;
  setState("error");
  el.retry.focus();
}

function clearError() {
  el.error.hidden = true;
  state.retry = null;
}

// ---- intro ------------------------------------------------------------------------------------------

async function loadInfo() {
  setState("loading");
  try {
    state.info = await api("interview/info");
  } catch (error) {
    showError(error, { label: "Try again", run: loadInfo });
    return;
  }
  clearError();
  const info = state.info;
  el.introTotal.textContent = String(info.total_questions);
  el.introFacts.replaceChildren(
    fact(`About ${info.estimated_duration_minutes} minutes`),
    fact(`Question types: ${info.question_types.join(", ")}`),
    fact(info.avatar_mode === "video" ? "Video presenter" : "Spoken questions with a lip-synced presenter"),
  );
  el.modeChip.textContent = info.avatar_mode === "video" ? "video presenter" : "audio + lip-sync";
  setupStartScreen(info, api);
  el.start.disabled = false;
  show(el.intro);
  setState("ready");
}

function fact(text) {
  const item = document.createElement("li");
  item.textContent = text;
  return item;
}

async function startInterview() {
  clearError();
  el.start.disabled = true;
  setState("starting");
  try {
    const options = startOptions();
    const started = await api("interview/start", options ? { method: "POST", body: options } : { method: "POST" });
    state.sessionId = started.session_id;
    if (started.idle_video_url) prepareIdle(started.idle_video_url);
    await openLive();
    receive(await ask("start"));
  } catch (error) {
    el.start.disabled = false;
    showError(error, { label: "Try again", run: startInterview });
  }
}

// ---- transport: the WebSocket when it is open, else HTTP; both answer at once (`wait=0`) -------------

async function openLive() {
  closeLive();
  try {
    state.live = await LiveChannel.open(API, state.sessionId, {
      onVideoReady: videoReady,
      onClose: () => {
        state.live = null;
      },
    });
  } catch (error) {
    console.warn("no live connection, using HTTP:", error.message);
    state.live = null;
  }
}

function closeLive() {
  state.live?.close();
  state.live = null;
  state.watched = null;
}

// `start` asks for the current question, `answer` sends `{question_id, answer_text}`.
async function ask(type, body) {
  if (state.live) {
    try {
      const reply = await state.live.request(type, body);
      if (reply.type === "question" && reply.video_status === "pending") state.watched = reply.question_id;
      return reply;
    } catch (error) {
      if (error.code !== "network") throw error;
      state.live = null; // the socket went away: carry on over HTTP
    }
  }
  const session = `interview/${state.sessionId}`;
  if (type === "answer") return api(`${session}/answer?wait=0`, { method: "POST", body });
  return api(`${session}/question?wait=0`);
}

// A pending question that came some other way (HTTP): the socket's `start` answers with the same question at
// once and announces its clip when it lands.
function watchVideo(question) {
  if (question.video_status !== "pending" || !state.live || state.watched === question.question_id) return;
  state.watched = question.question_id;
  state.live.request("start").catch(() => {});
}

function videoReady({ question_id: id, video_url: url }) {
  const question = state.question;
  if (!question || question.question_id !== id || question.video_url || question.video_status === "failed") return;
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

// ---- questions --------------------------------------------------------------------------------------

function receive(payload) {
  if (payload.type === "complete") {
    showSummary(payload.session_summary, payload.message);
    return;
  }
  showQuestion(payload);
}

function showQuestion(question) {
  stopSpeaking();
  state.question = question;
  state.timings = question.word_timings ?? [];
  state.visemes = question.visemes ?? [];

  el.question.dataset.questionId = String(question.question_id);
  el.questionType.textContent = question.question_type;
  el.questionNumber.textContent = `Question ${question.current_question} of ${question.total_questions}`;
  renderWords(question.question_text);
  setProgress(
    question.current_question - 1,
    question.total_questions,
    `Question ${question.current_question} of ${question.total_questions}`,
  );
  el.voice.textContent = voiceLabel(question.voice);
  el.voice.dataset.voice = question.voice ?? "";
  el.modeChip.textContent = question.video_url ? "video presenter" : "audio + lip-sync";
  el.presenter.dataset.video = question.video_status ?? (question.video_url ? "ready" : "none");
  if (el.presenter.dataset.video === "disabled") el.presenter.dataset.video = "none";
  el.answer.value = "";
  updateCount();
  el.form.dispatchEvent(new Event("reset"));
  el.submit.disabled = false;
  el.replay.disabled = false;
  show(el.interview);
  el.answer.focus({ preventScroll: true });
  if (question.idle_video_url) prepareIdle(question.idle_video_url);
  speak();
  watchVideo(question);
}

function renderWords(text) {
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

function setProgress(answered, total, label) {
  el.progress.hidden = false;
  el.progressLabel.textContent = label;
  el.progressBar.setAttribute("aria-valuemax", String(total));
  el.progressBar.setAttribute("aria-valuenow", String(answered));
  el.progressFill.style.width = `${(100 * answered) / Math.max(total, 1)}%`;
}

// ---- presenter --------------------------------------------------------------------------------------

function setView(view) {
  el.presenter.dataset.view = view;
  el.clip.hidden = view !== "clip";
  el.idle.hidden = view !== "idle";
  if (view === "idle") el.idle.play().catch(() => setView("image"));
  else el.idle.pause();
}

function prepareIdle(url) {
  if (el.idle.dataset.src === url) return;
  el.idle.dataset.src = url;
  el.idle.src = url;
}

function restingView() {
  setView(el.idle.dataset.src ? "idle" : "image");
}

function stopSpeaking() {
  for (const media of [el.audio, el.clip]) {
    media.pause();
  }
  state.speaker = null;
  el.play.hidden = true;
}

function speak(from = 0) {
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

function fallBackToAudio() {
  // The clip could not be played: speak the same question audio-only, with the drawn mouth.
  if (!state.question) return;
  state.question = { ...state.question, video_url: null, video_status: "failed" };
  el.presenter.dataset.video = "failed";
  el.modeChip.textContent = "audio + lip-sync";
  speak();
}

function finishSpeaking() {
  if (el.body.dataset.state === "speaking") setState("listening");
  state.speaker = null;
  highlightWord(-1);
  restingView();
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

function highlightWord(index) {
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

// ---- answers and the end ----------------------------------------------------------------------------

function updateCount() {
  el.answerCount.textContent = `${el.answer.value.length} / 10000`;
}

async function submitAnswer(event) {
  event?.preventDefault();
  const question = state.question;
  const text = el.answer.value.trim();
  if (!question || el.submit.disabled) return;
  if (!text) {
    el.answer.setAttribute("aria-invalid", "true");
    el.answerCount.textContent = "Write an answer first.";
    el.answer.focus();
    return;
  }
  el.answer.removeAttribute("aria-invalid");
  clearError();
  el.submit.disabled = true;
  stopSpeaking();
  finishSpeaking();
  setState("submitting");
  try {
    receive(await ask("answer", { question_id: question.question_id, answer_text: text }));
  } catch (error) {
    el.submit.disabled = false;
    if (error.code === "wrong_question") {
      // Another tab moved on: show the question the server is waiting for.
      await recover();
      return;
    }
    showError(error, recoveryFor(error, () => submitAnswer()));
  }
}

async function recover() {
  try {
    receive(await ask("start"));
  } catch (error) {
    showError(error, recoveryFor(error, recover));
  }
}

function recoveryFor(error, again) {
  if (error.status === 404 || ["session_finished", "session_not_found", "expired"].includes(error.code)) {
    return { label: "Start a new interview", run: restart };
  }
  return { label: "Try again", run: again };
}

async function endInterview() {
  if (!state.sessionId) return;
  stopSpeaking();
  finishSpeaking();
  setState("submitting");
  try {
    const ended = await api(`interview/${state.sessionId}`, { method: "DELETE" });
    closeLive();
    showSummary(ended.summary, ended.message);
  } catch (error) {
    showError(error, recoveryFor(error, endInterview));
  }
}

function showSummary(summary, message) {
  closeLive();
  stopSpeaking();
  state.question = null;
  restingView();
  highlightWord(-1);
  setProgress(
    summary.questions_answered,
    summary.total_questions,
    `${summary.questions_answered} of ${summary.total_questions} answered`,
  );
  el.summaryTitle.textContent = summary.state === "completed" ? "Interview complete" : "Interview ended";
  el.summaryMessage.textContent = message;

  const answered = summary.questions.filter((q) => q.answer_text);
  const words = answered.reduce((sum, q) => sum + q.word_count, 0);
  const timed = answered.filter((q) => typeof q.seconds_to_answer === "number");
  const average = timed.length ? timed.reduce((s, q) => s + q.seconds_to_answer, 0) / timed.length : null;
  el.summaryStats.replaceChildren(
    ...stat("Answered", `${summary.questions_answered} / ${summary.total_questions}`),
    ...stat("Words", String(words)),
    ...stat("Average time per answer", average === null ? "—" : formatSeconds(average)),
  );
  el.summaryAnswers.replaceChildren(...answered.map(answerItem));
  show(el.summary);
  setState("complete");
  el.summaryTitle.focus();
}

function stat(label, value) {
  const term = document.createElement("dt");
  term.textContent = label;
  const definition = document.createElement("dd");
  definition.textContent = value;
  return [term, definition];
}

function answerItem(q) {
  const item = document.createElement("li");
  const head = document.createElement("p");
  head.className = "answer-question";
  head.textContent = q.question_text;
  const body = document.createElement("blockquote");
  body.textContent = q.answer_text;
  const meta = document.createElement("p");
  meta.className = "muted";
  const time = typeof q.seconds_to_answer === "number" ? ` · ${formatSeconds(q.seconds_to_answer)}` : "";
  const kind = q.question_type.charAt(0).toUpperCase() + q.question_type.slice(1);
  meta.textContent = `${kind} · ${q.word_count} ${q.word_count === 1 ? "word" : "words"}${time}`;
  item.append(head, body, meta);
  return item;
}

function formatSeconds(seconds) {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function restart() {
  clearError();
  stopSpeaking();
  closeLive();
  state.sessionId = null;
  state.question = null;
  el.progress.hidden = true;
  startInterview();
}

// ---- wiring -----------------------------------------------------------------------------------------

el.start.addEventListener("click", startInterview);
el.restart.addEventListener("click", restart);
el.form.addEventListener("submit", submitAnswer);
el.end.addEventListener("click", endInterview);
el.replay.addEventListener("click", () => speak());
el.play.addEventListener("click", () => {
  el.play.hidden = true;
  speak();
});
el.retry.addEventListener("click", () => {
  const retry = state.retry;
  clearError();
  if (retry) retry.run();
});
el.answer.addEventListener("input", () => {
  el.answer.removeAttribute("aria-invalid");
  updateCount();
});
el.answer.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) submitAnswer(event);
});
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

const mic = setupMic({
  current: () => ({ sessionId: state.sessionId, questionId: state.question?.question_id }),
  onStart: () => {
    stopSpeaking();
    finishSpeaking();
  },
  onNext: (next) => receive(next),
  onError: (message) => showError({ message }, null),
});
el.form.addEventListener("reset", () => mic.reset());

requestAnimationFrame(animate);
loadInfo();
