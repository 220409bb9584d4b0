// The interview's WebSocket (docs/api.md): questions and answers with `wait=0`, `video_ready` when a clip
// lands, and the feedback pushes (`feedback` in practice mode, `report_ready` at the end).

import { socketUrl } from "./api.js";

const OPEN_TIMEOUT_MS = 8000;
const REPLIES = new Set(["question", "complete", "error"]);

export class LiveError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class LiveChannel {
  // Resolves once the server has sent `session_info` for `sessionId`; rejects if the socket cannot be had.
  // `on` holds the handlers: onVideoReady, onFeedback, onReportReady (each gets the message's data), onClose.
  static open(sessionId, on = {}) {
    return new Promise((resolve, reject) => {
      const channel = new LiveChannel(new WebSocket(socketUrl(sessionId)), on);
      const timer = setTimeout(() => {
        channel.close();
        reject(new LiveError("network", "The live connection did not open in time."));
      }, OPEN_TIMEOUT_MS);
      channel.opened = (error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(channel);
      };
    });
  }

  constructor(socket, { onVideoReady = () => {}, onFeedback = () => {}, onReportReady = () => {}, onClose = () => {} }) {
    this.socket = socket;
    this.waiting = []; // the requests sent, answered in order
    this.open = false;
    this.opened = () => {};
    this.onVideoReady = onVideoReady;
    this.onFeedback = onFeedback;
    this.onReportReady = onReportReady;
    this.onClose = onClose;
    socket.addEventListener("message", (event) => this.handle(event.data));
    socket.addEventListener("close", () => this.closed());
  }

  // Sends `{type, data}` and resolves with the reply (a question or the completion); an `error` rejects.
  request(type, data = {}) {
    if (!this.open) return Promise.reject(new LiveError("network", "The live connection is closed."));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.send(JSON.stringify({ type, data }));
    });
  }

  close() {
    this.open = false;
    this.socket.close(1000);
  }

  handle(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const { type, data } = message;
    if (type === "session_info") {
      this.open = true;
      this.opened(null);
    } else if (type === "error" && !this.open) {
      this.opened(new LiveError(data?.code ?? "error", data?.message ?? "The live connection was refused."));
    } else if (type === "video_ready") {
      this.onVideoReady(data);
    } else if (type === "feedback") {
      this.onFeedback(data);
    } else if (type === "report_ready") {
      this.onReportReady(data);
    } else if (type === "ping") {
      this.socket.send(JSON.stringify({ type: "pong", data: { timestamp: data?.timestamp } }));
    } else if (REPLIES.has(type) && this.waiting.length) {
      const { resolve, reject } = this.waiting.shift();
      if (type === "error") reject(new LiveError(data?.code ?? "error", data?.message ?? "The request failed."));
      else resolve(data);
    }
  }

  closed() {
    const wasOpen = this.open;
    this.open = false;
    this.opened(new LiveError("network", "The live connection closed."));
    for (const { reject } of this.waiting.splice(0)) {
      reject(new LiveError("network", "The live connection closed before the answer came back."));
    }
    if (wasOpen) this.onClose();
  }
}
