// Klubb's storefront endpoints (/embed/v1/<publishable key>/…), called from the shop's page with CORS. No
// cookies: a member is named only by the short-lived token the session endpoint gives for the page's signed
// identity, sent as "Authorization: Bearer <token>".

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || "http_error";
  }
}

export function createApi({ base, key }) {
  const root = `${base}/embed/v1/${encodeURIComponent(key)}/`;
  let language = "en";

  async function call(path, { method = "GET", token, body, lang = true } = {}) {
    const url = new URL(path, root);
    if (lang) url.searchParams.set("lang", language);
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      mode: "cors",
    });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  return {
    setLanguage(value) {
      language = value;
    },
    config: () => call("config/"),
    session: (identity) => call("session/", { method: "POST", body: identity, lang: false }),
    me: (token) => call("me/", { token }),
    badges: (items, token) => call("badges/", { method: "POST", body: { items }, token, lang: false }),
    reserve: (points, requestId, token) =>
      call("redemptions/", { method: "POST", body: { points, request_id: requestId }, token }),
  };
}

/** A random UUID (version 4) for a redemption's request id: one per click, reused by its retry. */
export function uuid4() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
