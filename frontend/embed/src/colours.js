// The storefront's accent colour, and the colours that stay readable on it and with it.

const FALLBACK = "#1f6f5c";

function channels(hex) {
  return [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16));
}

function luminance([r, g, b]) {
  const linear = (c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

const contrast = (a, b) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);

/** {accent, onAccent (text on it), accentInk (the accent as text on white, or dark where too light), tint}. */
export function palette(colour) {
  const accent = /^#[0-9a-f]{6}$/i.test(colour || "") ? colour.toLowerCase() : FALLBACK;
  const rgb = channels(accent);
  const light = luminance(rgb);
  const onAccent = contrast(1, light) >= contrast(light, 0) ? "#ffffff" : "#111111";
  const accentInk = contrast(1, light) >= 4.5 ? accent : "#1d1d1f";
  const tint = `rgb(${rgb.map((c) => Math.round(c * 0.12 + 255 * 0.88)).join(" ")})`;
  return { accent, onAccent, accentInk, tint };
}

/** The custom properties of a palette on an element (through the CSSOM, which no page CSP refuses). */
export function paint(element, colours) {
  element.style.setProperty("--accent", colours.accent);
  element.style.setProperty("--on-accent", colours.onAccent);
  element.style.setProperty("--accent-ink", colours.accentInk);
  element.style.setProperty("--tint", colours.tint);
}
