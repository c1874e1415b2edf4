// The launcher and its panel, in a shadow root of their own (<klubb-widget> at the end of <body>).
//
// The panel is a modal <dialog>: it opens in the browser's top layer (above any theme's z-index), focus moves
// into it, Tab stays inside, Escape or a click outside closes it, and focus goes back to the launcher.

import { paint, palette } from "./colours.js";
import { copyText, h, ICONS, icon, shadowWith } from "./dom.js";
import { memberView, visitorView } from "./views.js";
import { WIDGET_CSS } from "./styles.js";

export function mountWidget({ config, messages, account }) {
  const { t } = messages;
  const host = document.createElement("klubb-widget");
  const root = shadowWith(host, WIDGET_CSS);
  const colours = palette(config.looks && config.looks.accent_colour);
  const side = config.looks && config.looks.position === "bottom-left" ? "left" : "right";
  const frame = h("div", { class: "frame" });
  paint(frame, colours);

  const label = h("span");
  const launcher = h(
    "button",
    {
      type: "button",
      class: `launcher ${side}`,
      "aria-haspopup": "dialog",
      "aria-expanded": "false",
      "aria-controls": "klubb-panel",
      onclick: open,
    },
    icon(ICONS.gift),
    label,
  );
  const dialog = h("dialog", { id: "klubb-panel", class: side, "aria-labelledby": "klubb-title" });
  const announcer = h("p", { class: "sr-only", role: "status", "aria-live": "polite" });
  frame.append(launcher, dialog, announcer);
  root.append(frame);

  // What the panel keeps between renders: the checkout code once reserved, and an error to show.
  const state = { reservation: null, error: "" };

  function updateLauncher() {
    const me = account.summary();
    if (me) {
      label.textContent = messages.points(me.points.balance);
      launcher.setAttribute("aria-label", `${config.club}: ${messages.points(me.points.balance)}`);
    } else {
      label.textContent = config.club;
      launcher.removeAttribute("aria-label");
    }
  }

  function announce(text) {
    announcer.textContent = "";
    setTimeout(() => (announcer.textContent = text), 50);
  }

  const actions = {
    async reserve(points, button) {
      button.disabled = true;
      button.textContent = t("working");
      state.error = "";
      try {
        state.reservation = await account.reserve(points);
        await account.reload().catch(() => null);
        announce(`${t("yourCode")}: ${state.reservation.code}`);
      } catch (error) {
        state.error = (error && error.status && error.status < 500 && error.message) || t("error");
        announce(state.error);
      }
      updateLauncher();
      render();
      focusIn(state.reservation ? "[data-focus=code]" : "[data-focus=checkout]");
    },
    async copy(text, button, doneLabel) {
      const done = await copyText(text, root);
      if (!done) return;
      const before = button.textContent;
      button.textContent = doneLabel || t("copied");
      announce(t("copied"));
      setTimeout(() => (button.textContent = before), 2000);
    },
    async share(link, button) {
      if (navigator.share) {
        try {
          await navigator.share({ title: config.club, text: t("referText"), url: link });
        } catch {
          /* the member closed the share sheet */
        }
        return;
      }
      await actions.copy(link, button);
    },
  };

  function render() {
    const me = account.summary();
    const view = me ? memberView({ me, config, messages, state, actions }) : visitorView({ config, messages });
    const close = h("button", { type: "button", class: "close", "aria-label": t("close"), onclick: shut });
    close.append(icon(ICONS.close));
    view.head.prepend(close);
    dialog.replaceChildren(view.head, view.body, view.foot);
  }

  function focusIn(selector) {
    const target = dialog.querySelector(selector) || dialog.querySelector(".close");
    if (target) target.focus();
  }

  function open() {
    render();
    dialog.showModal();
    launcher.setAttribute("aria-expanded", "true");
    focusIn(".close");
  }

  function shut() {
    if (dialog.open) dialog.close();
  }

  dialog.addEventListener("close", () => {
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  });
  // A click on the backdrop (outside the panel's box) closes it; a drag that ends outside does not.
  dialog.addEventListener("click", (event) => {
    if (event.target !== dialog) return;
    const box = dialog.getBoundingClientRect();
    const inside =
      event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
    if (!inside) shut();
  });

  updateLauncher();
  document.body.append(host);
  return host;
}
