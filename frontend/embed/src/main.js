// Klubb's storefront widget. A shop's theme adds
//
//   <script src="https://<klubb host>/embed/v1/klubb.js" data-klubb-shop="<publishable key>" async></script>
//
// and, for a signed-in customer, the identity its server signed (see identity.js). The widget talks to the
// Klubb that served this script (the script's own origin), in the page's language (<html lang>), else the
// member's, else the browser's.

import { createAccount } from "./account.js";
import { createApi } from "./api.js";
import { startBadges } from "./badges.js";
import { palette } from "./colours.js";
import { languageOf, messages as messagesFor } from "./i18n.js";
import { readIdentity } from "./identity.js";
import { mountWidget } from "./widget.js";

const script = document.currentScript || document.querySelector("script[data-klubb-shop]");

function whenReady(start) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
  else start();
}

async function boot() {
  const key = script.getAttribute("data-klubb-shop") || "";
  const api = createApi({ base: new URL(script.src, location.href).origin, key });
  const pageTag = document.documentElement.getAttribute("lang") || "";
  let language = languageOf(pageTag);
  api.setLanguage(language || languageOf(navigator.language) || "en");

  const identity = readIdentity();
  const account = createAccount({ api, identity });
  let config;
  try {
    [config] = await Promise.all([api.config(), account.signIn()]);
  } catch (error) {
    console.warn(`Klubb: the widget is off for this page (${error.code || error}).`);
    return;
  }
  if (account.isMember()) {
    await account.reload().catch((error) => console.warn("Klubb: the member's summary could not be loaded.", error));
  }
  const me = account.summary();
  if (!language && me && languageOf(me.member.language)) {
    // The page does not say a language the club speaks: the member's own, with the tier names in it.
    language = languageOf(me.member.language);
    api.setLanguage(language);
    [config] = await Promise.all([api.config(), account.reload().catch(() => null)]);
  }
  const messages = messagesFor(language || languageOf(navigator.language) || "en", pageTag);
  const colours = palette(config.looks && config.looks.accent_colour);
  const scope = me && identity ? `m:${identity.customer_id || identity.email}` : "v";
  mountWidget({ config, messages, account });
  await startBadges({ load: account.badges, shopKey: key, scope, messages, colours });
}

if (script && !window.__klubbWidget) {
  window.__klubbWidget = true;
  whenReady(() => boot().catch((error) => console.warn("Klubb:", error)));
}
