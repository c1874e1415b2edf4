// What the panel shows: to a member what they have, what they get next and how to use it here; to a visitor
// what the club gives and how to join. Every text from Klubb goes in as text, never as markup.

import { h } from "./dom.js";

const MAX_OPTIONS = 40; // choices in "points to use"; more steps than that are thinned out evenly

/** The amounts of points the member may reserve: the minimum, then every step up to what is usable. */
export function pointChoices({ min_points: min, step_points: step, usable_points: usable }) {
  if (!usable || usable < min || step < 1) return [];
  const count = Math.floor((usable - min) / step) + 1;
  if (count <= MAX_OPTIONS) return Array.from({ length: count }, (_, i) => min + i * step);
  const choices = new Set();
  for (let i = 0; i < MAX_OPTIONS; i += 1) {
    choices.add(min + Math.round((i * (count - 1)) / (MAX_OPTIONS - 1)) * step);
  }
  return [...choices].sort((a, b) => a - b);
}

function worth(points, checkout) {
  return Math.floor(points * Number(checkout.point_value) * 100 + 1e-6) / 100;
}

function tierBadge(tier) {
  const badge = h("span", { class: "tier" }, tier.name);
  if (/^#[0-9a-f]{6}$/i.test(tier.colour || "")) badge.style.setProperty("--tier", tier.colour);
  return badge;
}

function benefitList(lines) {
  return lines && lines.length ? h("ul", { class: "benefits" }, lines.map((line) => h("li", {}, line))) : null;
}

function portalLink(me, path) {
  try {
    return new URL(path, me.portal_url).href;
  } catch {
    return me.portal_url;
  }
}

function progressSection(me, { t }) {
  if (!me.next_tier) {
    return h("section", {}, h("p", {}, t("topTier")), benefitList(me.tier && me.tier.benefits));
  }
  const { name, points_to_go: toGo, progress_percent: percent } = me.next_tier;
  const text = t("pointsTo", { n: toGo, tier: name });
  const fill = h("span");
  fill.style.setProperty("--progress", `${Math.max(0, Math.min(100, percent))}%`);
  return h(
    "section",
    {},
    h("p", {}, h("strong", {}, text)),
    h(
      "div",
      {
        class: "bar",
        role: "progressbar",
        "aria-label": t("progress"),
        "aria-valuemin": 0,
        "aria-valuemax": 100,
        "aria-valuenow": percent,
        "aria-valuetext": `${percent} %: ${text}`,
      },
      fill,
    ),
    benefitList(me.tier && me.tier.benefits),
  );
}

function pendingSection(me, messages) {
  const { t } = messages;
  if (!me.pending.length && !me.points.reserved) return null;
  return h(
    "section",
    {},
    me.pending.length ? h("h3", {}, t("pending")) : null,
    me.pending.length
      ? h(
          "ul",
          {},
          me.pending.slice(0, 4).map((lot) => h("li", {}, t("pendingLine", { n: lot.points, date: messages.day(lot.available_at) }))),
        )
      : null,
    me.points.reserved ? h("p", { class: "muted" }, t("reserved", { n: me.points.reserved })) : null,
  );
}

function checkoutSection(me, messages, state, actions) {
  const { t } = messages;
  const checkout = me.checkout;
  const money = (points) => messages.money(worth(points, checkout), checkout.currency);
  const section = h("section", {}, h("h3", {}, t("useAtCheckout")));
  const choices = pointChoices(checkout);
  if (!choices.length) {
    const points = messages.points(checkout.min_points);
    section.append(h("p", { class: "muted" }, t("notEnough", { points, amount: money(checkout.min_points) })));
  } else {
    const select = h(
      "select",
      { id: "klubb-points" },
      choices.map((points) => h("option", { value: points }, `${messages.points(points)} · ${money(points)}`)),
    );
    select.value = String(choices[choices.length - 1]);
    const button = h("button", { type: "button", class: "button", "data-focus": "checkout" }, t("getCode"));
    button.addEventListener("click", () => actions.reserve(Number(select.value), button));
    section.append(
      h("div", { class: "field" }, h("div", {}, h("label", { for: "klubb-points" }, t("pointsToUse")), select), button),
    );
  }
  if (state.error) section.append(h("p", { class: "error", role: "alert" }, state.error));
  const reservation = state.reservation;
  if (reservation) {
    const copy = h("button", { type: "button", class: "button secondary", "data-focus": "code" }, t("copyCode"));
    copy.addEventListener("click", () => actions.copy(reservation.code, copy));
    const points = messages.points(reservation.points);
    const amount = messages.money(reservation.amount, reservation.currency);
    section.append(
      h(
        "div",
        { class: "code-box" },
        h("p", { class: "muted" }, t("yourCode")),
        h("p", { class: "code" }, reservation.code),
        h("p", {}, t("codeHelp", { points, amount })),
        h("p", { class: "muted" }, t("reservedUntil", { date: messages.moment(reservation.expires_at) })),
        h("div", { class: "actions" }, copy),
      ),
    );
  }
  return section;
}

function rewardsSection(me, messages) {
  const { t } = messages;
  const { affordable, nearest } = me.rewards;
  if (!affordable.length && !nearest) return null;
  return h(
    "section",
    {},
    affordable.length ? h("h3", {}, t("rewardsNow")) : null,
    affordable.length
      ? h(
          "ul",
          {},
          affordable
            .slice(0, 4)
            .map((reward) => h("li", {}, h("span", {}, reward.name), h("span", { class: "cost" }, messages.points(reward.points_cost)))),
        )
      : null,
    nearest ? h("h3", {}, t("rewardsNext")) : null,
    nearest ? h("p", {}, t("rewardMissing", { n: nearest.points_missing, reward: nearest.name })) : null,
    h("p", {}, h("a", { href: portalLink(me, "rewards/"), target: "_blank", rel: "noopener" }, t("moreRewards"))),
  );
}

function referralSection(me, messages, actions) {
  const { t } = messages;
  if (!me.referral_link) return null;
  const link = me.referral_link;
  const canShare = typeof navigator.share === "function";
  const button = h("button", { type: "button", class: "button secondary" }, canShare ? t("share") : t("copyLink"));
  button.addEventListener("click", () => actions.share(link, button));
  const field = h("input", { id: "klubb-referral", readonly: true, value: link });
  field.addEventListener("focus", () => field.select());
  return h(
    "section",
    {},
    h("h3", {}, t("refer")),
    h("p", { class: "muted" }, t("referText")),
    h("label", { for: "klubb-referral" }, t("referralLink")),
    field,
    h("div", { class: "actions" }, button),
  );
}

export function memberView({ me, config, messages, state, actions }) {
  const { t } = messages;
  const name = me.member.first_name;
  const head = h(
    "div",
    { class: "head" },
    h("h2", { id: "klubb-title" }, name ? t("hi", { name }) : t("hello")),
    h(
      "p",
      { class: "balance", "aria-label": `${t("balance")}: ${messages.points(me.points.balance)}` },
      h("strong", {}, messages.number(me.points.balance)),
      h("span", {}, t("unit", { n: me.points.balance })),
    ),
    me.tier ? h("p", {}, h("span", { class: "sr-only" }, `${t("yourTier")}: `), tierBadge(me.tier)) : null,
  );
  const body = h(
    "div",
    { class: "body" },
    progressSection(me, messages),
    pendingSection(me, messages),
    checkoutSection(me, messages, state, actions),
    rewardsSection(me, messages),
    referralSection(me, messages, actions),
  );
  const foot = h(
    "div",
    { class: "foot" },
    h("span", {}, config.club),
    h("a", { href: me.portal_url, target: "_blank", rel: "noopener" }, t("myPage")),
  );
  return { head, body, foot };
}

export function visitorView({ config, messages }) {
  const { t } = messages;
  const earning = config.earning;
  const checkout = config.checkout;
  const head = h(
    "div",
    { class: "head" },
    h("h2", { id: "klubb-title" }, t("joinClub", { club: config.club })),
    h("p", {}, t("tagline")),
  );
  const join = h(
    "section",
    {},
    h(
      "div",
      { class: "actions" },
      h("a", { class: "button", href: config.join_url }, t("signUp")),
      h("span", {}, `${t("already")} `, h("a", { href: config.login_url }, t("logIn"))),
    ),
  );
  const ways = [
    t("earnRate", {
      amount: messages.money(earning.example_amount, earning.currency),
      points: messages.points(earning.example_points),
    }),
  ];
  if (earning.birthday_bonus) ways.push(t("birthday", { points: messages.points(earning.birthday_bonus) }));
  ways.push(
    t("spend", {
      points: messages.points(checkout.min_points),
      amount: messages.money(worth(checkout.min_points, checkout), checkout.currency),
    }),
  );
  const earn = h("section", {}, h("h3", {}, t("howToEarn")), h("ul", {}, ways.map((way) => h("li", {}, way))));
  const levels = config.tiers.length
    ? h(
        "section",
        {},
        h("h3", {}, t("levels")),
        h(
          "ul",
          { class: "levels" },
          config.tiers.map((tier) =>
            h(
              "li",
              {},
              tierBadge(tier),
              " ",
              h("span", { class: "muted" }, t("from", { points: messages.points(tier.threshold) })),
              benefitList(tier.benefits),
            ),
          ),
        ),
      )
    : null;
  const foot = h("div", { class: "foot" }, h("span", {}, config.shop), h("span", {}, config.club));
  return { head, body: h("div", { class: "body" }, join, earn, levels), foot };
}
