// `node deploy.mjs [wrangler deploy arguments]` (in edge/): checks the
// deployment's variables, then runs `wrangler deploy` with the same arguments.
// It warns when STUDIO_HOST is empty (studio sessions would then be accepted
// on every host the Worker serves, the shop's own origin included, where any
// script on the shop's pages shares the origin with a signed-in marketer), and
// refuses to deploy with a local-only switch on (GEO_OVERRIDE or
// ALLOW_LOCAL_DESTINATIONS set to "allow"). `--var NAME:value` overrides
// wrangler.toml, as it does for wrangler.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The `[vars]` of a wrangler.toml (string values only), then `--var NAME:value` arguments over them. */
export function deployVars(toml, args = []) {
  const vars = {};
  let inVars = false;
  for (const line of toml.split(/\r?\n/)) {
    const section = /^\s*\[+([^\]]*)\]+\s*$/.exec(line);
    if (section) { inVars = section[1].trim() === "vars"; continue; }
    const pair = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"/.exec(line);
    if (inVars && pair) vars[pair[1]] = pair[2];
  }
  args.forEach((arg, i) => {
    if (arg !== "--var" || !args[i + 1]) return;
    const [name, ...value] = args[i + 1].split(":");
    vars[name] = value.join(":");
  });
  return vars;
}

/** What is wrong with deploying these variables: `{warnings, errors}` as sentences. */
export function deployProblems(vars) {
  const warnings = [];
  const errors = [];
  if (!vars.STUDIO_HOST?.trim()) {
    warnings.push("warning: STUDIO_HOST is empty: studio sessions will be accepted on every host this Worker serves, "
      + "the shop's own origin included. Set STUDIO_HOST in wrangler.toml [vars] to the studio's own host "
      + "(docs/studio.md).");
  }
  for (const name of ["GEO_OVERRIDE", "ALLOW_LOCAL_DESTINATIONS"]) {
    if (vars[name] === "allow") errors.push(`error: ${name} is "allow": a local-only switch, never deployed. Set it to "deny".`);
  }
  return { warnings, errors };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const { warnings, errors } = deployProblems(deployVars(readFileSync(join(here, "wrangler.toml"), "utf8"), args));
  for (const line of [...warnings, ...errors]) console.error(line);
  if (errors.length) process.exit(1);
  const wrangler = join(here, "../node_modules/wrangler/bin/wrangler.js");
  const child = spawn(process.execPath, [wrangler, "deploy", ...args], { cwd: here, stdio: "inherit" });
  child.once("error", (e) => { console.error(`error: could not run wrangler: ${e.message}`); process.exit(1); });
  child.once("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
