// Builds the storefront widget: src/main.js bundled and minified into one script, by default the file Django
// serves (static/embed/klubb.js, committed). `node build.mjs <file>` writes elsewhere (the test that checks
// the committed file is a fresh build of the sources).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const outfile = process.argv[2] || here("../../static/embed/klubb.js");

await build({
  entryPoints: [here("src/main.js")],
  outfile,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome100", "firefox100", "safari15.4"],
  legalComments: "inline",
  banner: { js: "/*! Klubb storefront widget. Source: frontend/embed/src (make embed). */" },
  logLevel: "warning",
});
