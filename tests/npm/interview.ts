// A whole interview through a client generated from the OpenAPI document (openapi-typescript + openapi-fetch).
// The test type-checks it with tsc against the freshly generated `./api` types; a renamed field, a lost
// discriminator or a changed status shows up as a type error here.
import createClient from "openapi-fetch";
import type { components, paths } from "./api";

type Question = components["schemas"]["QuestionResponse"];
type Completion = components["schemas"]["CompletionResponse"];
type ApiError = components["schemas"]["ErrorResponse"];

export async function runInterview(baseUrl: string): Promise<Completion> {
  const client = createClient<paths>({ baseUrl });

  const started = await client.POST("/api/v1/interview/start", { body: {} });
  if (started.error !== undefined) throw new Error(`start failed: ${describe(started.error)}`);
  const sessionId: string = started.data.session_id;
  const total: number = started.data.total_questions;

  const first = await client.GET("/api/v1/interview/{session_id}/question", {
    params: { path: { session_id: sessionId }, query: { wait: 0 } },
  });
  if (first.error !== undefined) throw new Error(`question failed: ${describe(first.error)}`);
  let step: Question | Completion = first.data;

  for (let asked = 0; step.type === "question"; asked++) {
    // `type` narrows the union: only a question has an id, text and audio.
    const question: Question = step;
    if (asked > total) throw new Error("more questions than the session has");
    const words: string[] = question.word_timings.map((timing) => timing.word);
    console.log(`${question.current_question}/${question.total_questions} ${words.join(" ")}`);
    const answered = await client.POST("/api/v1/interview/{session_id}/answer", {
      params: { path: { session_id: sessionId }, query: { wait: 0 } },
      body: { question_id: question.question_id, answer_text: `My answer to "${question.question_text}".` },
    });
    if (answered.error !== undefined) {
      const error: ApiError = answered.error;
      throw new Error(`answer failed (${answered.response.status} ${error.code})`);
    }
    step = answered.data;
  }

  const status = await client.GET("/api/v1/interview/{session_id}/status", {
    params: { path: { session_id: sessionId } },
  });
  if (status.error !== undefined || !status.data.is_complete) throw new Error("the interview is not complete");

  const ended = await client.DELETE("/api/v1/interview/{session_id}", {
    params: { path: { session_id: sessionId } },
  });
  if (ended.error !== undefined) throw new Error(`end failed: ${describe(ended.error)}`);
  const answers: (string | null)[] = ended.data.summary.questions.map((q) => q.answer_text);
  console.log(`${answers.length} answers kept`);
  return step;
}

function describe(error: ApiError): string {
  return `${error.code}: ${JSON.stringify(error.detail)}`;
}
