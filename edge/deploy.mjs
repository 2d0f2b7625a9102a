// `node deploy.mjs [wrangler deploy arguments]` (in edge/): checks the
// deployment's variables, then runs `wrangler deploy` with the same arguments.
// It warns when STUDIO_HOST is empty (studio sessions would then be accepted
// on every host the Worker serves, the shop's own origin included, where any
// script on the shop's pages shares the origin with a signed-in marketer), and
// refuses to deploy with a local-only switch on (GEO_OVERRIDE or
// ALLOW_LOCAL_DESTINATIONS set to "allow"). `--var NAME:value` overrides
// wrangler.toml, as it does for wrangler.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The variables a deploy would get: the `[vars]` of a wrangler.toml (string
 * values, double- or single-quoted), with `--env NAME` the `[env.NAME.vars]`
 * over them, then `--var NAME:value` (or `--var=NAME:value`) arguments.
 */
export function deployVars(toml, args = []) {
  const env = args.flatMap((arg, i) => (arg === "--env" || arg === "-e" ? [args[i + 1]] : arg.startsWith("--env=") ? [arg.slice(6)] : []))[0];
  const vars = {};
  let section = "";
  const sections = { vars: {}, env: {} };
  for (const line of toml.split(/\r?\n/)) {
    const header = /^\s*\[+([^\]]*)\]+\s*$/.exec(line);
    if (header) { section = header[1].trim(); continue; }
    const pair = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(line);
    if (!pair) continue;
    const value = pair[2] ?? pair[3];
    if (section === "vars") sections.vars[pair[1]] = value;
    if (env && section === `env.${env}.vars`) sections.env[pair[1]] = value;
  }
  Object.assign(vars, sections.vars, sections.env);
  args.forEach((arg, i) => {
    const given = arg === "--var" ? args[i + 1] : arg.startsWith("--var=") ? arg.slice(6) : null;
    if (!given) return;
    const [name, ...value] = given.split(":");
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
  if (vars.FAULT_STORE_OVERLOADED) {
    errors.push("error: FAULT_STORE_OVERLOADED is set: a fault for local tests only (every event batch would skip the store's "
      + "budgets through the ingest queue). Remove it from the deployed variables.");
  }
  return { warnings, errors };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const { warnings, errors } = deployProblems(deployVars(readFileSync(join(here, "wrangler.toml"), "utf8"), args));
  // This check reads wrangler.toml; a JSON config or another file would go unchecked.
  if (existsSync(join(here, "wrangler.json")) || existsSync(join(here, "wrangler.jsonc")) || args.some((a) => a === "--config" || a === "-c" || a.startsWith("--config="))) {
    errors.push("error: deploy.mjs checks edge/wrangler.toml only: deploy with it (no wrangler.json, no --config).");
  }
  for (const line of [...warnings, ...errors]) console.error(line);
  if (errors.length) process.exit(1);
  const wrangler = join(here, "../node_modules/wrangler/bin/wrangler.js");
  const child = spawn(process.execPath, [wrangler, "deploy", ...args], { cwd: here, stdio: "inherit" });
  child.once("error", (e) => { console.error(`error: could not run wrangler: ${e.message}`); process.exit(1); });
  child.once("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
