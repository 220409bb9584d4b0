// The summary screen: counts, and each answer (with its follow-up) as text, ready for the report's feedback.

import { el } from "./dom.js";

function stat(label, value) {
  const term = document.createElement("dt");
  term.textContent = label;
  const definition = document.createElement("dd");
  definition.textContent = value;
  return [term, definition];
}

export function formatSeconds(seconds) {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function paragraph(className, text) {
  const item = document.createElement("p");
  item.className = className;
  item.textContent = text;
  return item;
}

// The answer as plain text; report.js re-cuts it from data-text with the evidence marked.
function quoted(text) {
  const body = document.createElement("blockquote");
  body.className = "answer-text";
  body.dataset.text = text;
  body.textContent = text;
  return body;
}

function answerItem(q) {
  const item = document.createElement("li");
  item.dataset.questionId = String(q.question_id);
  const score = paragraph("answer-score", "");
  score.hidden = true;
  item.append(paragraph("answer-question", q.question_text), score, quoted(q.answer_text));
  if (q.follow_up?.answer_text) {
    item.append(paragraph("answer-question follow-up", `Follow-up: ${q.follow_up.question_text}`));
    item.append(quoted(q.follow_up.answer_text));
  }
  const time = typeof q.seconds_to_answer === "number" ? ` · ${formatSeconds(q.seconds_to_answer)}` : "";
  const kind = q.question_type.charAt(0).toUpperCase() + q.question_type.slice(1);
  const words = `${q.word_count} ${q.word_count === 1 ? "word" : "words"}`;
  const feedback = document.createElement("div");
  feedback.className = "answer-feedback";
  item.append(paragraph("muted", `${kind} · ${words}${time}`), feedback);
  return item;
}

/** Show the summary of a finished (or ended) interview. */
export function renderSummary(summary, message) {
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
}
