// The feedback report on the summary screen, and practice mode's feedback card after each answer.
//
// The report (GET /interview/{id}/report, docs/feedback.md) is fetched when the interview ends and again
// while it is `pending` (at once when the socket says `feedback` or `report_ready`), until it is ready or
// REPORT_WAIT_MS passes. Everything is built with DOM nodes and textContent: answer text is never parsed as
// HTML, and evidence is highlighted by cutting the answer into text nodes and <mark> elements. Fields the
// client does not know are ignored; missing ones are skipped.
//
// State for tests: #report[data-status] loading | pending | ready | unavailable; #report-score, #report-band;
// each #summary-answers li[data-question-id] gains data-status, .answer-score and li.criterion[data-name]
// (with .criterion-score); #feedback-card[data-question-id] after an answer in practice mode.

import { api, apiKey } from "./api.js";
import { $ } from "./dom.js";

const POLL_MS = 1000;
const REPORT_WAIT_MS = 120_000;
const FEEDBACK_WAIT_MS = 30_000;

const reportBox = $("report");
const answers = $("summary-answers");
const card = $("feedback-card");
let generation = 0; // bumped by stopReport: a poll of an older interview stops
let wake = null;

function node(tag, className, text) {
  const item = document.createElement(tag);
  if (className) item.className = className;
  if (text !== undefined && text !== null) item.textContent = String(text);
  return item;
}

function list(className, items) {
  const box = node("ul", className);
  box.append(...items.filter((text) => typeof text === "string" && text).map((text) => node("li", "", text)));
  return box;
}

const isScore = (value) => typeof value === "number" && Number.isFinite(value);
const slug = (text) => String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-");

/**
 * `text` as nodes in which every occurrence of every evidence quote is a <mark>; `quotes` is a list of
 * `{quote, label, name}`. A mark's title names the criteria that quoted it.
 */
export function highlight(text, quotes) {
  const owners = new Array(text.length).fill(null);
  for (const { quote, label, name } of quotes) {
    if (typeof quote !== "string" || !quote) continue;
    for (let at = text.indexOf(quote); at >= 0; at = text.indexOf(quote, at + quote.length)) {
      for (let i = at; i < at + quote.length; i += 1) {
        owners[i] ??= new Map();
        owners[i].set(name ?? label, label ?? name);
      }
    }
  }
  const nodes = [];
  let start = 0;
  const keyAt = (i) => (owners[i] ? [...owners[i].keys()].sort().join(" ") : "");
  for (let i = 1; i <= text.length; i += 1) {
    if (i < text.length && keyAt(i) === keyAt(start)) continue;
    const piece = text.slice(start, i);
    if (owners[start]) {
      const mark = node("mark", "evidence", piece);
      mark.dataset.criteria = keyAt(start);
      mark.title = `Evidence for: ${[...new Set(owners[start].values())].join(", ")}`;
      nodes.push(mark);
    } else {
      nodes.push(document.createTextNode(piece));
    }
    start = i;
  }
  return nodes;
}

function evidenceOf(question) {
  const quotes = [];
  for (const criterion of question.criteria ?? []) {
    for (const quote of criterion.evidence ?? []) {
      quotes.push({ quote, label: criterion.label || criterion.name, name: criterion.name || criterion.label });
    }
  }
  return quotes;
}

function criterionItem(criterion) {
  const item = node("li", "criterion");
  item.dataset.name = criterion.name ?? "";
  const head = node("p", "criterion-head");
  head.append(node("span", "criterion-label", criterion.label || criterion.name || "Criterion"));
  if (isScore(criterion.score)) head.append(node("span", "criterion-score", `${criterion.score}/5`));
  item.append(head);
  if (criterion.comment) item.append(node("p", "criterion-comment muted", criterion.comment));
  return item;
}

// Pace, fillers and pauses of spoken answers (docs/feedback.md); other figures are listed as they come.
function deliveryLine(delivery, lead = "Delivery") {
  if (!delivery || typeof delivery !== "object") return null;
  const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  const parts = [];
  if (isScore(delivery.words_per_minute)) {
    const pace = delivery.pace ? ` (${delivery.pace})` : "";
    parts.push(`${Math.round(delivery.words_per_minute)} words a minute${pace}`);
  }
  if (isScore(delivery.filler_words)) parts.push(count(delivery.filler_words, "filler word", "filler words"));
  if (isScore(delivery.long_pauses)) {
    const longest = delivery.long_pauses && isScore(delivery.longest_pause_s);
    const detail = longest ? ` (longest ${delivery.longest_pause_s.toFixed(1)} s)` : "";
    parts.push(count(delivery.long_pauses, "long pause", "long pauses") + detail);
  }
  if (!parts.length) {
    for (const [name, value] of Object.entries(delivery)) {
      if (["number", "string", "boolean"].includes(typeof value)) parts.push(`${name.replaceAll("_", " ")}: ${value}`);
    }
  }
  return parts.length ? node("p", "delivery muted", `${lead}: ${parts.join(" · ")}`) : null;
}

function judgedBy(question) {
  const bits = [];
  if (question.evaluator) bits.push(`Judged by ${question.evaluator}`);
  const reason = question.reason ?? question.fallback_reason;
  if (reason) bits.push(question.status === "failed" ? `Not judged: ${reason}` : reason);
  return bits.length ? node("p", "judged muted", bits.join(" · ")) : null;
}

/** Fill one summary item (li[data-question-id]) with its question's feedback. */
function fillAnswer(item, question) {
  const status = question.status ?? "ready";
  item.dataset.status = status;
  const quotes = evidenceOf(question);
  for (const quoteBox of item.querySelectorAll("blockquote[data-text]")) {
    quoteBox.replaceChildren(...highlight(quoteBox.dataset.text, quotes));
  }
  const score = item.querySelector(".answer-score");
  if (status === "pending") score.textContent = "Feedback is being prepared…";
  else if (status === "failed") score.textContent = "No feedback for this answer";
  else score.textContent = isScore(question.score) ? `Score ${question.score} / 100` : "";
  score.hidden = !score.textContent;
  const box = item.querySelector(".answer-feedback");
  const parts = [];
  if (question.criteria?.length) {
    const criteria = node("ul", "criteria");
    criteria.append(...question.criteria.map(criterionItem));
    parts.push(criteria);
  }
  if (question.strengths?.length) parts.push(node("p", "list-title", "Strengths"), list("strengths", question.strengths));
  if (question.improvements?.length) {
    parts.push(node("p", "list-title", "To improve"), list("improvements", question.improvements));
  }
  for (const extra of [deliveryLine(question.delivery), judgedBy(question)]) if (extra) parts.push(extra);
  box.replaceChildren(...parts);
}

/** Show `report` on the summary screen: the overall result, and each answer's criteria and evidence. */
export function renderReport(report) {
  const status = report.status === "pending" ? "pending" : "ready";
  reportBox.hidden = false;
  reportBox.dataset.status = status;
  const parts = [node("h3", "", "Your feedback")];
  if (status === "pending") parts.push(node("p", "report-note muted", "Some answers are still being judged; this updates by itself."));
  const overall = report.overall;
  if (overall && isScore(overall.score)) {
    const head = node("p", "overall");
    const score = node("span", "overall-score", `${overall.score}`);
    score.id = "report-score";
    const band = node("span", "band", overall.band ?? "");
    band.id = "report-band";
    band.dataset.band = slug(overall.band ?? "");
    head.append(score, node("span", "overall-scale", " / 100 "), band);
    parts.push(head);
    if (overall.summary) parts.push(node("p", "overall-summary", overall.summary));
  } else if (status === "ready") {
    parts.push(node("p", "report-note muted", "No answers were judged, so there is no score."));
  }
  const spoken = deliveryLine(report.delivery, "Spoken answers");
  if (spoken) parts.push(spoken);
  if (report.strengths?.length) parts.push(node("p", "list-title", "Strengths"), list("strengths", report.strengths));
  if (report.improvements?.length) {
    parts.push(node("p", "list-title", "To improve"), list("improvements", report.improvements));
  }
  // The printable page is a plain link, which cannot carry the key's header: offered when no key is in use.
  if (report.html_url && !apiKey()) {
    const link = node("a", "print-link", "Printable report");
    link.href = report.html_url;
    link.target = "_blank";
    link.rel = "noopener";
    parts.push(link);
  }
  reportBox.replaceChildren(...parts);
  for (const question of report.questions ?? []) {
    const item = answers.querySelector(`li[data-question-id="${Number(question.question_id)}"]`);
    if (item) fillAnswer(item, question);
  }
}

function reportNote(status, message) {
  reportBox.hidden = false;
  reportBox.dataset.status = status;
  reportBox.replaceChildren(node("h3", "", "Your feedback"), node("p", "report-note muted", message));
}

function pause(ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      wake = null;
      resolve();
    }
    wake = done;
  });
}

const reportPath = (sessionId) => `interview/${encodeURIComponent(sessionId)}/report`;

/** Fetch and show the report of `sessionId`, again while it is pending; `onSettled` when done. */
export async function followReport(sessionId, { onSettled = () => {} } = {}) {
  const mine = ++generation;
  const deadline = Date.now() + REPORT_WAIT_MS;
  reportNote("loading", "Loading your feedback…");
  try {
    while (mine === generation) {
      let report;
      try {
        report = await api(reportPath(sessionId));
      } catch (error) {
        if (mine === generation) reportNote("unavailable", `The feedback could not be loaded: ${error.message}`);
        return;
      }
      if (mine !== generation) return;
      renderReport(report);
      if (report.status !== "pending") return;
      if (Date.now() > deadline) {
        reportNote("pending", "Your feedback is taking longer than usual; start a new interview or reload later.");
        return;
      }
      await pause(POLL_MS);
    }
  } finally {
    if (mine === generation) onSettled();
  }
}

/** The socket said a feedback landed (`feedback` or `report_ready`): re-read the report now. */
export function reportChanged() {
  wake?.();
}

/** A new interview: stop following the old report and clear the screen's feedback. */
export function stopReport() {
  generation += 1;
  wake?.();
  reportBox.hidden = true;
  reportBox.replaceChildren();
  hideFeedback();
}

// ---- practice mode: a short card after each answer ---------------------------------------------------

/** Show one answer's feedback (a `feedback` message, or an entry of the report's `questions`). */
export function showFeedback(feedback) {
  if (!feedback || feedback.status === "pending") return;
  const parts = [node("h3", "", "Feedback on your last answer")];
  if (feedback.question_text) parts.push(node("p", "feedback-question muted", feedback.question_text));
  if (feedback.status === "failed") {
    parts.push(node("p", "", "This answer could not be judged; the report at the end lists it."));
  } else {
    if (isScore(feedback.score)) parts.push(node("p", "feedback-score", `Score ${feedback.score} / 100`));
    const strength = feedback.strengths?.find((text) => typeof text === "string");
    const improvement = feedback.improvements?.find((text) => typeof text === "string");
    if (strength) parts.push(node("p", "feedback-strength", `Strength: ${strength}`));
    if (improvement) parts.push(node("p", "feedback-improvement", `To improve: ${improvement}`));
  }
  card.dataset.questionId = String(feedback.question_id ?? "");
  card.dataset.status = feedback.status ?? "ready";
  card.replaceChildren(...parts);
  card.hidden = false;
}

export function hideFeedback() {
  card.hidden = true;
  card.replaceChildren();
  delete card.dataset.questionId;
}

/** Without the socket: poll the report until `questionId` is judged, then show its card. */
export async function fetchFeedback(sessionId, questionId) {
  const mine = generation;
  const deadline = Date.now() + FEEDBACK_WAIT_MS;
  while (mine === generation && Date.now() < deadline) {
    let report;
    try {
      report = await api(reportPath(sessionId));
    } catch {
      return;
    }
    const question = report.questions?.find((q) => q.question_id === questionId);
    if (mine !== generation) return;
    if (question && question.status !== "pending") {
      showFeedback(question);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
