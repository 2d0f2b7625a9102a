// Prints what a storefront downloads for the agent: raw, gzip -9 and brotli bytes.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const rows = process.argv.slice(2).map((file) => {
  const raw = readFileSync(file);
  const gzip = gzipSync(raw, { level: 9 }).length;
  const brotli = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  return { file: basename(file), raw: raw.length, gzip, brotli };
});
const total = rows.reduce((t, r) => ({ file: "total", raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }), { raw: 0, gzip: 0, brotli: 0 });
console.log("| file | raw B | gzip -9 B | brotli B |\n|---|---:|---:|---:|");
for (const r of [...rows, total]) console.log(`| ${r.file} | ${r.raw} | ${r.gzip} | ${r.brotli} |`);
