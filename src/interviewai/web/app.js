// The InterviewAI web client: runs an interview over the public API, as any other client would: the session
// is started over HTTP, questions and answers go over the WebSocket with `wait=0` (HTTP `?wait=0` if the
// socket cannot be had), so a question never waits for its clip; `video_ready` swaps the clip in. The
// modules: api.js (fetch, socket URL, API key), dom.js (elements, state), presenter.js (speaking),
// start.js (start options), summary.js and report.js (the end), live.js (the socket), mic.js (voice answers).
//
// State a test (or a curious developer) can read from the DOM:
//   body[data-state]               loading | needs-key | ready | starting | speaking | listening | submitting
//                                  | complete | error
//   body[data-session-id]          the session on screen (empty before one starts)
//   #question[data-question-id]    the question on screen; #question-type[data-type] its type (follow_up, ...)
//   #question[data-current-word]   index of the word being spoken (-1 when none)
//   #mouth[data-viseme]            the mouth shape drawn now (Oculus visemes: sil PP FF TH DD kk CH SS nn RR aa E I O U)
//   #presenter[data-view]          image | clip | idle
//   #presenter[data-video]         none | pending | ready | failed   (the current question's clip)
//   report.js lists the report's and the feedback card's.

import { API, adoptKeyFromAddress, api, apiKey, keyed, setApiKey } from "./api.js";
import { clearError, el, setState, show, showError, state } from "./dom.js";
import { LiveChannel } from "./live.js";
import { setupMic } from "./mic.js";
import {
  finishSpeaking,
  highlightWord,
  prepareIdle,
  renderWords,
  restingView,
  setupPresenter,
  speak,
  stopSpeaking,
  videoReady,
} from "./presenter.js";
import { fetchFeedback, followReport, hideFeedback, reportChanged, showFeedback, stopReport } from "./report.js";
import { setupStartScreen, startOptions } from "./start.js";
import { renderSummary } from "./summary.js";
import { voiceLabel } from "./voice.js";

let practice = false; // this session pushes feedback after each answer (start option `feedback: "each"`)

// ---- intro ------------------------------------------------------------------------------------------

async function loadInfo() {
  setState("loading");
  try {
    state.info = await api("interview/info");
  } catch (error) {
    if (error.code === "unauthorized") {
      askForKey(apiKey() ? "That API key was not accepted; check it and try again." : null);
      return;
    }
    showError(error, { label: "Try again", run: loadInfo });
    return;
  }
  clearError();
  el.keyForm.hidden = true;
  const info = state.info;
  el.image.src = keyed(new URL("media/avatar.png", API).href);
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

// The server wants an API key (API_KEYS is set) and this tab has none, or a wrong one.
function askForKey(problem) {
  setApiKey(null);
  clearError();
  show(el.intro);
  el.start.disabled = true;
  el.keyForm.hidden = false;
  el.keyNote.textContent = problem ?? "This server asks for an API key. It is kept in this browser tab only.";
  el.keyInput.setAttribute("aria-invalid", String(Boolean(problem)));
  setState("needs-key");
  el.keyInput.focus();
}

function useKey(event) {
  event.preventDefault();
  const value = el.keyInput.value.trim();
  if (!value) {
    el.keyInput.focus();
    return;
  }
  setApiKey(value);
  el.keyInput.value = "";
  loadInfo();
}

async function startInterview() {
  clearError();
  stopReport();
  el.start.disabled = true;
  setState("starting");
  try {
    const options = startOptions();
    const started = await api("interview/start", options ? { method: "POST", body: options } : { method: "POST" });
    state.sessionId = started.session_id;
    el.body.dataset.sessionId = started.session_id;
    practice = options?.feedback === "each";
    if (started.idle_video_url) prepareIdle(keyed(started.idle_video_url));
    await openLive();
    receive(await ask("start"));
  } catch (error) {
    el.start.disabled = false;
    showError(error, recoveryFor(error, startInterview));
  }
}

// ---- transport: the WebSocket when it is open, else HTTP; both answer at once (`wait=0`) -------------

async function openLive() {
  closeLive();
  const sessionId = state.sessionId;
  try {
    state.live = await LiveChannel.open(sessionId, {
      onVideoReady: videoReady,
      onFeedback: (feedback) => {
        if (state.sessionId !== sessionId) return;
        if (practice) showFeedback(feedback);
        reportChanged();
      },
      onReportReady: () => reportChanged(),
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

// ---- questions --------------------------------------------------------------------------------------

function receive(payload) {
  if (payload.type === "complete") {
    showSummary(payload.session_summary, payload.message);
    return;
  }
  showQuestion(payload);
}

// The question's media URLs as players can fetch them (with the API key when one is in use).
function playable(question) {
  return {
    ...question,
    audio_url: keyed(question.audio_url),
    video_url: keyed(question.video_url),
    idle_video_url: keyed(question.idle_video_url),
  };
}

function showQuestion(payload) {
  stopSpeaking();
  const question = playable(payload);
  state.question = question;
  state.timings = question.word_timings ?? [];
  state.visemes = question.visemes ?? [];

  const followUp = question.question_type === "follow_up";
  const position = `${question.current_question} of ${question.total_questions}`;
  el.question.dataset.questionId = String(question.question_id);
  el.questionType.dataset.type = question.question_type;
  el.questionType.textContent = followUp ? "Follow-up" : question.question_type;
  el.questionNumber.textContent = followUp ? `Follow-up to question ${position}` : `Question ${position}`;
  renderWords(question.question_text);
  setProgress(question.current_question - 1, question.total_questions, `Question ${position}`);
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

function setProgress(answered, total, label) {
  el.progress.hidden = false;
  el.progressLabel.textContent = label;
  el.progressBar.setAttribute("aria-valuemax", String(total));
  el.progressBar.setAttribute("aria-valuenow", String(answered));
  el.progressFill.style.width = `${(100 * answered) / Math.max(total, 1)}%`;
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
    const next = await ask("answer", { question_id: question.question_id, answer_text: text });
    // Without the socket nothing is pushed: practice mode asks for the answer's feedback itself.
    if (practice && !state.live) fetchFeedback(state.sessionId, question.parent_question_id ?? question.question_id);
    receive(next);
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
  if (error.code === "unauthorized") return { label: "Enter the API key", run: () => askForKey(null) };
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
    showSummary(ended.summary, ended.message);
  } catch (error) {
    showError(error, recoveryFor(error, endInterview));
  }
}

function showSummary(summary, message) {
  stopSpeaking();
  state.question = null;
  restingView();
  highlightWord(-1);
  hideFeedback();
  setProgress(
    summary.questions_answered,
    summary.total_questions,
    `${summary.questions_answered} of ${summary.total_questions} answered`,
  );
  renderSummary(summary, message);
  show(el.summary);
  setState("complete");
  el.summaryTitle.focus();
  // The socket stays open for `report_ready` until the report is settled.
  const live = state.live;
  followReport(state.sessionId, {
    onSettled: () => {
      if (state.live === live) closeLive();
    },
  });
}

function restart() {
  clearError();
  stopSpeaking();
  closeLive();
  stopReport();
  state.sessionId = null;
  state.question = null;
  el.body.dataset.sessionId = "";
  el.progress.hidden = true;
  startInterview();
}

// ---- wiring -----------------------------------------------------------------------------------------

el.start.addEventListener("click", startInterview);
el.keyForm.addEventListener("submit", useKey);
el.restart.addEventListener("click", restart);
el.form.addEventListener("submit", submitAnswer);
el.end.addEventListener("click", endInterview);
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

adoptKeyFromAddress();
setupPresenter();
loadInfo();
