// The member behind the page's signed identity, as far as Klubb vouches for them: the token the session
// endpoint gives (asked again when it runs out) and the member's summary.

import { ApiError, uuid4 } from "./api.js";

const EARLY_MS = 30 * 1000; // ask for a new token this long before the old one runs out

export function createAccount({ api, identity }) {
  let token = null;
  let expiresAt = 0;
  let summary = null;

  async function signIn() {
    token = null;
    if (!identity) return null;
    try {
      const session = await api.session(identity);
      if (session.member) {
        token = session.token;
        expiresAt = Date.now() + session.expires_in * 1000;
      }
    } catch (error) {
      // A tampered, expired or foreign identity: the visitor view, and a hint for the theme's developer.
      console.warn(`Klubb: the signed-in customer was not accepted (${error.code}); showing the visitor view.`);
    }
    return token;
  }

  async function withToken(call) {
    if (!token || Date.now() > expiresAt - EARLY_MS) await signIn();
    if (!token) throw new ApiError(401, { code: "token_invalid" });
    try {
      return await call(token);
    } catch (error) {
      if (error.status !== 401) throw error;
      if (!(await signIn())) throw error;
      return call(token); // the same call again (a redemption keeps its request id: reserved once)
    }
  }

  return {
    signIn,
    isMember: () => token !== null,
    summary: () => summary,
    async reload() {
      summary = await withToken((t) => api.me(t));
      return summary;
    },
    reserve(points) {
      const requestId = uuid4();
      return withToken((t) => api.reserve(points, requestId, t));
    },
    badges(items) {
      return token ? withToken((t) => api.badges(items, t)) : api.badges(items, null);
    },
  };
}
