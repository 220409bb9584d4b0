// The drawn mouth over the presenter image (index.html's #mouth), shaped by the question's visemes.

// Mouth geometry per viseme, in the avatar image's pixels: half-width, half-opening, how much of the
// opening the upper teeth fill, and how far the tongue shows.
const MOUTH_SHAPES = {
  sil: { w: 30, h: 1.5, teeth: 0, tongue: 0 },
  PP: { w: 27, h: 0.5, teeth: 0, tongue: 0 },
  FF: { w: 28, h: 5, teeth: 0.7, tongue: 0 },
  TH: { w: 28, h: 7, teeth: 0.45, tongue: 5 },
  DD: { w: 28, h: 8, teeth: 0.5, tongue: 3 },
  kk: { w: 29, h: 10, teeth: 0.35, tongue: 3 },
  CH: { w: 23, h: 9, teeth: 0.55, tongue: 0 },
  SS: { w: 30, h: 5, teeth: 0.8, tongue: 0 },
  nn: { w: 28, h: 7, teeth: 0.4, tongue: 4 },
  RR: { w: 22, h: 9, teeth: 0.3, tongue: 2 },
  aa: { w: 31, h: 19, teeth: 0.22, tongue: 6 },
  E: { w: 32, h: 12, teeth: 0.35, tongue: 3 },
  I: { w: 33, h: 8, teeth: 0.5, tongue: 0 },
  O: { w: 20, h: 15, teeth: 0.15, tongue: 3 },
  U: { w: 15, h: 10, teeth: 0.1, tongue: 0 },
};
const MOUTH_X = 256;
const MOUTH_Y = 298;

// The viseme spoken at `time` (seconds) in a question's contiguous `[{viseme, start, end}]`.
export function visemeAt(visemes, time) {
  for (const v of visemes) {
    if (v.start <= time && time < v.end) return MOUTH_SHAPES[v.viseme] ? v.viseme : "sil";
    if (v.start > time) break;
  }
  return "sil";
}

export class Mouth {
  constructor() {
    const $ = (id) => document.getElementById(id);
    this.node = $("mouth");
    this.parts = {
      clip: $("mouth-clip-shape"),
      cavity: $("mouth-cavity"),
      lips: $("mouth-lips"),
      teeth: $("mouth-teeth"),
      tongue: $("mouth-tongue"),
    };
    this.viseme = "sil";
    this.shape = { ...MOUTH_SHAPES.sil };
  }

  // Moves the drawn mouth part of the way towards `viseme`'s shape (called once per frame).
  draw(viseme) {
    if (viseme !== this.viseme) {
      this.viseme = viseme;
      this.node.dataset.viseme = viseme;
    }
    const target = MOUTH_SHAPES[viseme];
    const mouth = this.shape;
    for (const key of Object.keys(target)) mouth[key] += (target[key] - mouth[key]) * 0.45;
    const { clip, cavity, lips, teeth, tongue } = this.parts;
    for (const shape of [clip, cavity, lips]) {
      shape.setAttribute("rx", mouth.w.toFixed(2));
      shape.setAttribute("ry", Math.max(mouth.h, 0.5).toFixed(2));
    }
    const top = MOUTH_Y - mouth.h;
    teeth.setAttribute("x", String(MOUTH_X - mouth.w));
    teeth.setAttribute("width", String(2 * mouth.w));
    teeth.setAttribute("y", top.toFixed(2));
    teeth.setAttribute("height", Math.max(0, 2 * mouth.h * mouth.teeth).toFixed(2));
    tongue.setAttribute("ry", Math.max(0, mouth.tongue).toFixed(2));
    tongue.setAttribute("cy", (MOUTH_Y + mouth.h).toFixed(2));
    tongue.setAttribute("rx", (mouth.w * 0.55).toFixed(2));
  }
}
