// Answering by voice: the microphone streams WebM/Opus over the interview WebSocket while the candidate
// speaks; the transcript appears as it is heard, and the next question comes back when they stop.
//
// State for tests: #mic-button[data-recording] "true" while recording; #live-transcript holds the text
// heard so far (data-final="true" once the answer is recorded); #mic-level[data-level] 0-100, the loudest
// of the last LEVEL_HOLD_MS (so it reads 0 only once the candidate is quiet, not in the gaps inside a word).

import { socketUrl } from "./api.js";

const $ = (id) => document.getElementById(id);
const TIMESLICE_MS = 250;
// Speech has near-silent stretches of 50-100 ms (stop consonants, between words): the meter holds its
// peak for longer, so it does not flicker to zero mid-answer.
const LEVEL_HOLD_MS = 400;

export function setupMic({ current, onNext, onError, onStart }) {
  const button = $("mic-button");
  const level = $("mic-level");
  const levelFill = $("mic-level-fill");
  const transcript = $("live-transcript");
  const note = $("mic-note");
  if (!button) return { reset() {} };
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === "undefined") {
    button.disabled = true;
    note.textContent = "This browser cannot record audio here; type your answer instead.";
    return { reset() {} };
  }
  let socket = null;
  let recorder = null;
  let stream = null;
  let meter = null;
  let questionId = null;

  function showLevel(value) {
    const percent = Math.round(Math.min(100, value * 300));
    level.dataset.level = String(percent);
    levelFill.style.width = `${percent}%`;
  }

  function startMeter(media) {
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    context.createMediaStreamSource(media).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let running = true;
    let recent = []; // [time, level] of the last LEVEL_HOLD_MS
    const tick = () => {
      if (!running) return;
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const now = performance.now();
      recent = recent.filter(([at]) => now - at < LEVEL_HOLD_MS);
      recent.push([now, Math.sqrt(sum / samples.length)]);
      showLevel(Math.max(...recent.map(([, value]) => value)));
      requestAnimationFrame(tick);
    };
    tick();
    return () => {
      running = false;
      showLevel(0);
      context.close();
    };
  }

  function openSocket(sessionId) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(socketUrl(sessionId));
      ws.binaryType = "arraybuffer";
      ws.addEventListener("message", (event) => handle(JSON.parse(event.data), resolve, ws));
      ws.addEventListener("error", () => reject(new Error("The live connection failed.")));
      ws.addEventListener("close", () => {
        if (socket === ws) socket = null;
      });
    });
  }

  function handle(message, ready, ws) {
    const { type, data } = message;
    if (type === "session_info") {
      socket = ws;
      ready(ws);
    } else if (type === "transcript") {
      transcript.textContent = data.text;
      transcript.dataset.final = String(Boolean(data.final));
    } else if (type === "question" || type === "complete") {
      finish();
      onNext(type === "complete" ? { type, ...data } : data);
    } else if (type === "error") {
      stopRecording(false);
      finish();
      onError(data.message || "The answer could not be heard; try again or type it.");
    } else if (type === "ping") {
      ws.send(JSON.stringify({ type: "pong", data: {} }));
    }
  }

  function finish() {
    button.disabled = false;
    button.dataset.recording = "false";
    button.textContent = "Answer by voice";
  }

  async function start() {
    const { sessionId, questionId: id } = current();
    if (!sessionId || !id) return;
    questionId = id;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      note.textContent = "The microphone was refused or is missing; type your answer instead.";
      button.disabled = true;
      return;
    }
    try {
      if (!socket) await openSocket(sessionId);
    } catch (error) {
      stream.getTracks().forEach((track) => track.stop());
      onError(error.message);
      return;
    }
    onStart?.();
    transcript.textContent = "";
    transcript.dataset.final = "false";
    note.textContent = "Listening. Press again when you are done.";
    const type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "audio/webm";
    recorder = new MediaRecorder(stream, { mimeType: type });
    socket.send(JSON.stringify({ type: "answer_audio_start", data: { question_id: questionId, format: "webm" } }));
    recorder.addEventListener("dataavailable", async (event) => {
      if (event.data.size && socket) socket.send(await event.data.arrayBuffer());
    });
    recorder.addEventListener("stop", () => {
      // The last chunk arrives before "stop"; give its send a turn, then close the answer.
      setTimeout(() => socket?.send(JSON.stringify({ type: "answer_audio_end", data: {} })), 50);
    });
    recorder.start(TIMESLICE_MS);
    meter = startMeter(stream);
    button.dataset.recording = "true";
    button.textContent = "Done speaking";
  }

  function stopRecording(send = true) {
    if (recorder && recorder.state !== "inactive") {
      if (!send) recorder.ondataavailable = null;
      recorder.stop();
    }
    recorder = null;
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    meter?.();
    meter = null;
  }

  button.addEventListener("click", () => {
    if (button.dataset.recording === "true") {
      button.disabled = true;
      button.textContent = "Hearing the end...";
      note.textContent = "";
      stopRecording();
    } else {
      start();
    }
  });

  return {
    // A new question: the last answer's transcript stays on screen until the next recording starts.
    reset() {
      note.textContent = "";
      if (!button.disabled || button.dataset.recording !== "true") finish();
    },
  };
}
