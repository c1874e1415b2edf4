// A few DOM helpers: elements are built with properties and text nodes, never from HTML strings, so nothing a
// server or a theme sends can become markup.

/** ``h("button", {type: "button", onclick}, "Text", child)``: an element with properties, attributes and children. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "style") for (const [property, v] of Object.entries(value)) element.style.setProperty(property, v);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An SVG icon from path data (24 x 24), hidden from assistive technology. */
export function icon(path) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "icon");
  const shape = document.createElementNS(ns, "path");
  shape.setAttribute("d", path);
  svg.append(shape);
  return svg;
}

export const ICONS = {
  gift: "M20 7h-2.2A3 3 0 0 0 12 3.8 3 3 0 0 0 6.2 7H4a1 1 0 0 0-1 1v3a1 1 0 0 0 1 1v8a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-8a1 1 0 0 0 1-1V8a1 1 0 0 0-1-1Zm-5-1.5a1.5 1.5 0 0 1 0 3h-2v-2A1.5 1.5 0 0 1 15 5.5Zm-6 0A1.5 1.5 0 0 1 10.5 7v1.5H9a1.5 1.5 0 0 1 0-3ZM5 9h6v2H5Zm1 4h5v6H6Zm7 6v-6h5v6Zm6-8h-6V9h6Z",
  close: "M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 0 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4Z",
};

/** A shadow root on ``host`` with the widget's own stylesheet, adopted where the browser can (a page's
 * Content-Security-Policy does not govern constructed stylesheets), else in a <style> inside the shadow root. */
export function shadowWith(host, css) {
  const root = host.attachShadow({ mode: "open" });
  const sheet = constructedSheet(css);
  if (sheet) root.adoptedStyleSheets = [sheet];
  else root.append(h("style", {}, css));
  return root;
}

const sheets = new Map();
function constructedSheet(css) {
  if (sheets.has(css)) return sheets.get(css);
  let sheet = null;
  try {
    if ("adoptedStyleSheets" in Document.prototype && "replaceSync" in CSSStyleSheet.prototype) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
    }
  } catch {
    sheet = null;
  }
  sheets.set(css, sheet);
  return sheet;
}

/** Text onto the clipboard: the Clipboard API, else a selected hidden text area and the copy command. */
export async function copyText(text, root) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h("textarea", { readonly: true, class: "offscreen", "aria-hidden": "true" });
    area.value = text;
    root.append(area);
    area.select();
    let done = false;
    try {
      done = document.execCommand("copy");
    } catch {
      done = false;
    }
    area.remove();
    return done;
  }
}
