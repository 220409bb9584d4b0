// How the client names the voice that spoke: whether it needs the network, not which engine it was.

const VOICE_LABELS = { piper: "Offline voice", edge: "Online voice" };

// `voice` is the question's `engine:voice`, e.g. `piper:en_US-joe-medium` or `edge:en-US-JennyNeural`.
export function voiceLabel(voice) {
  if (!voice) return "";
  return VOICE_LABELS[voice.split(":", 1)[0]] ?? "Voice";
}
