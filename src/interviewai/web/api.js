// The client's side of the public API: JSON over fetch, the WebSocket's URL, and the optional API key.
//
// When the server sets API_KEYS, every /api/v1 call needs the key: fetches send `Authorization: Bearer`,
// while the WebSocket and media elements (which cannot send headers) carry it as `?api_key=`, the two
// places the server accepts it there. The key comes from `?api_key=` in the page's address (taken out of
// the address bar at once) or the start screen's field, and is kept in sessionStorage: this tab only.

export const API = new URL("api/v1/", document.baseURI);
const KEY_STORE = "interviewai.apiKey";
const MEDIA_PATH = "/api/v1/media/";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function readStore() {
  try {
    return sessionStorage.getItem(KEY_STORE) || null;
  } catch {
    return null; // storage refused (a privacy mode): the key lives in this page only
  }
}

let key = readStore();

/** Take `?api_key=` from the page's address into the tab's storage, and out of the address bar. */
export function adoptKeyFromAddress() {
  const address = new URL(location.href);
  const given = address.searchParams.get("api_key");
  if (given === null) return;
  setApiKey(given);
  address.searchParams.delete("api_key");
  history.replaceState(history.state, "", address);
}

export function apiKey() {
  return key;
}

export function setApiKey(value) {
  key = value?.trim() || null;
  try {
    if (key) sessionStorage.setItem(KEY_STORE, key);
    else sessionStorage.removeItem(KEY_STORE);
  } catch {
    // kept in memory only
  }
}

/** A media URL a player can fetch: with `?api_key=` when a key is in use and the URL is the API's media. */
export function keyed(url) {
  if (!url || !key) return url;
  let parsed;
  try {
    parsed = new URL(url, document.baseURI);
  } catch {
    return url;
  }
  if (!/^https?:$/.test(parsed.protocol) || !parsed.pathname.includes(MEDIA_PATH)) return url;
  parsed.searchParams.set("api_key", key);
  return parsed.href;
}

/** The interview WebSocket for `sessionId`, answering at once (`wait=0`), with the key when there is one. */
export function socketUrl(sessionId) {
  const url = new URL("interview/session", API);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("session_id", sessionId);
  url.searchParams.set("wait", "0"); // never hold a question back for its clip
  if (key) url.searchParams.set("api_key", key);
  return url;
}

function describe(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((p) => `${(p.loc || []).join(".")}: ${p.msg}`).join("; ");
  return "The server could not handle the request.";
}

/** `path` under /api/v1 as JSON; a failure rejects with an ApiError carrying the API's `{detail, code}`. */
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: { Accept: "application/json" } };
  if (key) init.headers.Authorization = `Bearer ${key}`;
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
