// The start screen's interview options: role, seniority, number of questions, a job ad, a preview of the
// plan (its count and why each question is there; the questions themselves stay hidden until asked), and
// practice mode (feedback after each answer, follow-up questions). Untouched options mean an empty start
// body: the default ten questions, exactly as the seed.

const DEFAULT_COUNT = 10;
const $ = (id) => document.getElementById(id);
const field = {
  role: $("plan-role"),
  seniority: $("plan-seniority"),
  count: $("plan-count"),
  ad: $("plan-ad"),
  feedback: $("practice-feedback"),
  followUps: $("practice-follow-ups"),
  adCount: $("plan-ad-count"),
  preview: $("plan-preview-button"),
  summary: $("plan-summary"),
  reasons: $("plan-reasons"),
  notes: $("plan-notes"),
};
let callApi = null;
let previewedSeed = null;

function option(value, label) {
  const item = document.createElement("option");
  item.value = value;
  item.textContent = label;
  return item;
}

/** Fill the role list from /interview/info and wire the controls; `api` is api.js's fetch helper. */
export function setupStartScreen(info, api) {
  const roles = info.roles ?? [];
  field.role.replaceChildren(
    option("", "Any role (general questions)"),
    ...roles.map((r) => option(r.id, `${r.name} (${r.question_count} questions)`)),
  );
  if (callApi !== null) return; // wired on the first call; a retried load only refreshes the roles
  callApi = api;
  for (const control of [field.role, field.seniority, field.count, field.ad]) {
    control.addEventListener("input", forgetPreview);
  }
  field.ad.addEventListener("input", () => {
    field.adCount.textContent = `${field.ad.value.length} / 10000`;
  });
  field.preview.addEventListener("click", previewPlan);
}

function forgetPreview() {
  previewedSeed = null;
  field.summary.hidden = true;
  field.reasons.replaceChildren();
  field.notes.replaceChildren();
}

/** The start body, or undefined for the defaults (an empty body); includes the previewed plan's seed. */
export function startOptions() {
  const options = planOptions();
  // As the preview: a previewed default plan is the empty body's plan, so its seed is not sent.
  if (Object.keys(options).length && previewedSeed !== null) options.seed = previewedSeed;
  if (field.feedback.checked) options.feedback = "each";
  if (field.followUps.checked) options.follow_ups = true;
  return Object.keys(options).length ? options : undefined;
}

// What decides the plan (the preview's body); practice mode does not change the questions.
function planOptions() {
  const options = {};
  if (field.role.value) options.role = field.role.value;
  if (field.seniority.value) options.seniority = field.seniority.value;
  const count = Number(field.count.value);
  if (Number.isInteger(count) && count !== DEFAULT_COUNT) options.num_questions = count;
  if (field.ad.value.trim()) options.job_description = field.ad.value;
  return options;
}

async function previewPlan() {
  const options = planOptions();
  field.preview.disabled = true;
  try {
    const plan = await callApi("interview/plan", { method: "POST", body: options });
    previewedSeed = plan.seed;
    showPlan(plan);
  } catch (error) {
    field.summary.hidden = false;
    field.summary.textContent = error.message;
  } finally {
    field.preview.disabled = false;
  }
}

function showPlan(plan) {
  field.summary.hidden = false;
  field.summary.dataset.seed = String(plan.seed);
  const role = plan.role ? ` for the ${plan.role} role` : "";
  field.summary.textContent = `${plan.total_questions} questions${role}. Why each one is there:`;
  field.reasons.replaceChildren(
    ...plan.questions.map((q, index) => {
      const item = document.createElement("li");
      item.textContent = `${index + 1}. ${q.question_type}: ${q.why}`;
      return item;
    }),
  );
  field.notes.replaceChildren(
    ...plan.notes.map((note) => {
      const item = document.createElement("li");
      item.textContent = note;
      return item;
    }),
  );
}
