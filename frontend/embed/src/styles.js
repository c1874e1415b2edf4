// The widget's own styles, inside its shadow roots only. ":host { all: initial !important }" wins over any
// rule of the page, even an !important one (inside a shadow tree, important host rules beat the page's), so
// the theme neither hides nor restyles the widget; no rule here reaches the theme's elements. Sizes are in px
// and em, never rem, which the theme's root font size would set.

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif';

export const WIDGET_CSS = `
:host { all: initial !important; display: block !important; }
*, *::before, *::after { box-sizing: border-box; }
.icon { width: 22px; height: 22px; fill: currentColor; flex: none; }
:focus { outline: none; }
:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
.launcher { position: fixed; z-index: 2147483000; bottom: 20px; right: 20px; display: inline-flex; align-items: center;
  gap: 8px; min-height: 52px; max-width: calc(100vw - 40px); margin: 0; padding: 0 20px 0 16px; border: 0;
  border-radius: 999px; background: var(--accent); color: var(--on-accent); font: 700 15px/1.2 ${FONT};
  letter-spacing: normal; text-transform: none; box-shadow: 0 6px 20px rgb(0 0 0 / 24%); cursor: pointer; }
.launcher.left { right: auto; left: 20px; }
.launcher:hover { filter: brightness(1.08); }
.launcher span { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
dialog { position: fixed; inset: auto 20px 86px auto; margin: 0; padding: 0; border: 0; width: 384px;
  max-width: calc(100vw - 40px); max-height: min(700px, calc(100vh - 110px)); border-radius: 16px; background: #fff;
  color: #1d1d1f; font: 400 15px/1.45 ${FONT}; box-shadow: 0 14px 44px rgb(0 0 0 / 30%); overflow: hidden;
  text-align: left; }
dialog[open] { display: flex; flex-direction: column; }
dialog.left { inset: auto auto 86px 20px; }
dialog::backdrop { background: rgb(20 20 20 / 28%); }
.head { position: relative; flex: none; padding: 18px 20px 20px; background: var(--accent); color: var(--on-accent); }
.head h2 { margin: 0 44px 2px 0; font-size: 18px; font-weight: 700; line-height: 1.3; }
.head p { margin: 0; }
.close { position: absolute; top: 10px; right: 10px; display: grid; place-items: center; width: 40px; height: 40px;
  margin: 0; padding: 0; border: 0; border-radius: 50%; background: transparent; color: inherit; cursor: pointer; }
.close:hover { background: rgb(255 255 255 / 20%); }
.balance { display: flex; align-items: baseline; flex-wrap: wrap; gap: 4px 8px; margin: 10px 0 8px; }
.balance strong { font-size: 36px; font-weight: 800; line-height: 1.05; }
.balance span { font-weight: 600; }
.tier { display: inline-block; padding: 3px 12px; border: 2px solid rgb(255 255 255 / 75%); border-radius: 999px;
  background: var(--tier, #555); color: #fff; font-size: 13px; font-weight: 700; text-shadow: 0 1px 1px rgb(0 0 0 / 35%); }
.body { flex: 1 1 auto; overflow-y: auto; overscroll-behavior: contain; padding: 0 20px; }
section { padding: 16px 0; border-bottom: 1px solid #ecebe8; }
section:last-child { border-bottom: 0; }
h3 { margin: 0 0 8px; font-size: 15px; font-weight: 700; line-height: 1.3; }
p { margin: 0 0 8px; }
p:last-child { margin-bottom: 0; }
.muted { color: #5f6368; font-size: 14px; }
.bar { height: 10px; margin: 8px 0 6px; overflow: hidden; border-radius: 999px; background: #ebe8e1; }
.bar span { display: block; width: var(--progress, 0%); height: 100%; border-radius: inherit; background: var(--accent); }
ul { margin: 0; padding: 0; list-style: none; }
li { display: flex; justify-content: space-between; gap: 12px; padding: 6px 0; border-bottom: 1px dashed #e6e4df; }
li:last-child { border-bottom: 0; }
.cost { font-weight: 700; white-space: nowrap; }
ul.benefits { margin: 4px 0 0 18px; list-style: disc; }
ul.benefits li { display: list-item; padding: 1px 0; border: 0; color: #3c4043; font-size: 14px; }
.levels > li { display: block; }
.levels .tier { border-color: transparent; }
.button { display: inline-flex; align-items: center; justify-content: center; gap: 6px; min-height: 44px; margin: 0;
  padding: 10px 18px; border: 2px solid var(--accent); border-radius: 10px; background: var(--accent);
  color: var(--on-accent); font: 700 15px/1.2 ${FONT}; text-decoration: none; cursor: pointer; }
.button.secondary { border-color: var(--accent-ink); background: #fff; color: var(--accent-ink); }
.button[disabled] { opacity: .65; cursor: progress; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-top: 12px; }
.field { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-end; }
.field > div { flex: 1 1 100%; }
label { display: block; margin: 0 0 4px; font-size: 14px; font-weight: 600; }
select, input { width: 100%; min-height: 44px; margin: 0; padding: 9px 10px; border: 1px solid #b5b5b5; border-radius: 10px;
  background: #fff; color: #1d1d1f; font: 400 15px/1.2 ${FONT}; }
input[readonly] { background: #f7f6f3; }
.code-box { margin-top: 12px; padding: 12px 14px; border: 2px dashed var(--accent-ink); border-radius: 12px;
  background: #f5f8f6; }
.code { margin: 2px 0 8px; font: 700 22px/1.2 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  letter-spacing: .08em; word-break: break-all; }
a { color: var(--accent-ink); font-weight: 600; }
.foot { flex: none; display: flex; justify-content: space-between; gap: 12px; padding: 12px 20px;
  border-top: 1px solid #ecebe8; background: #faf9f7; font-size: 14px; }
.error { color: #a32929; font-weight: 600; }
.offscreen { position: fixed; top: 0; left: -9999px; width: 1px; height: 1px; opacity: 0; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 480px) {
  .launcher { bottom: 16px; right: 16px; }
  .launcher.left { left: 16px; }
  dialog, dialog.left { inset: auto 0 0 0; width: 100%; max-width: 100%; max-height: 88vh; border-radius: 18px 18px 0 0; }
}
@media (prefers-reduced-motion: no-preference) {
  dialog[open] { animation: klubb-rise .18s ease-out; }
  @keyframes klubb-rise { from { transform: translateY(12px); opacity: 0; } }
}
`;

export const BADGE_CSS = `
:host { all: initial !important; display: block !important; margin: 6px 0 0 !important; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; background: var(--tint, #eef4f1);
  color: var(--accent-ink, #1f5f4a); font: 600 13px/1.5 ${FONT}; letter-spacing: normal; text-transform: none; }
`;
