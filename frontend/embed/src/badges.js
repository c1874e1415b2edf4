// "Earn N points" badges: every element with data-klubb-points-for="<price>" (and optionally
// data-klubb-category, data-klubb-sku) gets a small badge of its own (a <klubb-points> element with a shadow
// root, so the theme's CSS neither breaks it nor is touched by it). All the page's products go to Klubb in one
// request (up to 100 at a time), and each answer is kept in sessionStorage for five minutes. Products that
// appear later (a "load more", a variant switch) are picked up by a MutationObserver.

import { paint } from "./colours.js";
import { h, shadowWith } from "./dom.js";
import { BADGE_CSS } from "./styles.js";

const SELECTOR = "[data-klubb-points-for]";
const WATCHED = ["data-klubb-points-for", "data-klubb-category", "data-klubb-sku"];
const BATCH = 100;
const KEEP_MS = 5 * 60 * 1000;
const OWN = new Set(["KLUBB-POINTS", "KLUBB-WIDGET"]); // our own elements coming and going: nothing to scan

/** "1249", "1249.5", "1249.00" as "1249.00"; anything else (a formatted "1 249,00 kr") as null. */
export function priceOf(value) {
  const text = String(value || "").trim();
  if (!/^\d{1,10}(\.\d{1,2})?$/.test(text)) return null;
  return Number(text).toFixed(2);
}

function itemOf(element) {
  const price = priceOf(element.getAttribute("data-klubb-points-for"));
  if (price === null) return null;
  const item = { price };
  for (const name of ["category", "sku"]) {
    const value = (element.getAttribute(`data-klubb-${name}`) || "").trim().slice(0, 100);
    if (value) item[name] = value; // an empty one is left out, as if the theme had not given it
  }
  return item;
}

const keyOf = (item) => `${item.price}|${item.category || ""}|${item.sku || ""}`;

function storage() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

export function startBadges({ load, shopKey, scope, messages, colours }) {
  const store = storage();
  const prefix = `klubb:${shopKey}:badge:${scope}:`;
  const badgeOf = new WeakMap(); // theme element -> {host, text, key}
  let timer = null;
  let queue = Promise.resolve(); // one scan at a time: a later one finds what an earlier one fetched

  function cached(key) {
    if (!store) return undefined;
    try {
      const entry = JSON.parse(store.getItem(prefix + key) || "null");
      if (entry && entry.until > Date.now()) return entry.points;
    } catch {
      /* a broken entry is fetched again */
    }
    return undefined;
  }

  function keep(key, points) {
    try {
      if (store) store.setItem(prefix + key, JSON.stringify({ points, until: Date.now() + KEEP_MS }));
    } catch {
      /* storage full or refused: the badge still shows */
    }
  }

  function show(element, key, points) {
    let badge = badgeOf.get(element);
    if (points === null || points === undefined) {
      if (badge) badge.host.remove();
      badgeOf.delete(element);
      return;
    }
    if (!badge || !badge.host.isConnected || badge.host.parentNode !== element) {
      const host = document.createElement("klubb-points");
      const root = shadowWith(host, BADGE_CSS);
      const text = h("span", { class: "badge", part: "badge" });
      paint(text, colours);
      root.append(text);
      badge = { host, text, key };
      badgeOf.set(element, badge);
      element.append(host);
    }
    badge.key = key;
    badge.text.textContent = messages.t("earn", { n: points });
    badge.host.setAttribute("data-points", String(points));
  }

  async function scan() {
    const wanted = new Map(); // key -> {item, elements}
    for (const element of document.querySelectorAll(SELECTOR)) {
      const item = itemOf(element);
      if (!item) continue;
      const key = keyOf(item);
      const badge = badgeOf.get(element);
      if (badge && badge.key === key && badge.host.isConnected && badge.host.parentNode === element) continue;
      const known = cached(key);
      if (known !== undefined) {
        show(element, key, known);
        continue;
      }
      if (!wanted.has(key)) wanted.set(key, { item, elements: [] });
      wanted.get(key).elements.push(element);
    }
    const entries = [...wanted.entries()];
    for (let start = 0; start < entries.length; start += BATCH) {
      const chunk = entries.slice(start, start + BATCH);
      let points;
      try {
        points = (await load(chunk.map(([, { item }]) => item))).points;
      } catch (error) {
        console.warn("Klubb: the points badges could not be loaded.", error);
        return;
      }
      chunk.forEach(([key, { elements }], index) => {
        keep(key, points[index]);
        for (const element of elements) show(element, key, points[index]);
      });
    }
  }

  const observer = new MutationObserver((records) => {
    const relevant = records.some(
      (record) =>
        record.type === "attributes" ||
        [...record.addedNodes, ...record.removedNodes].some((node) => !OWN.has(node.nodeName)),
    );
    if (!relevant) return;
    clearTimeout(timer);
    timer = setTimeout(schedule, 150);
  });
  const schedule = () => (queue = queue.then(scan));
  observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: WATCHED });
  return schedule();
}
