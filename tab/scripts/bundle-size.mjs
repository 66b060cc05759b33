// Prints the gzip size of what the browser downloads from dist/ (JS and CSS), per file and in total.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";

const dist = new URL("../dist/", import.meta.url).pathname;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

let total = 0;
let initial = 0;
const index = readFileSync(join(dist, "index.html"), "utf8");
for (const path of files(dist).filter((p) => /\.(js|css)$/.test(p)).sort()) {
  const name = relative(dist, path);
  const gzip = gzipSync(readFileSync(path), { level: 9 }).length;
  const loadedFirst = index.includes(name);
  total += gzip;
  if (loadedFirst) initial += gzip;
  console.log(`${(gzip / 1024).toFixed(1).padStart(8)} KiB  ${name}${loadedFirst ? "  (loaded by index.html)" : ""}`);
}
console.log(`${(initial / 1024).toFixed(1).padStart(8)} KiB  loaded first by index.html`);
console.log(`${(total / 1024).toFixed(1).padStart(8)} KiB  all JS and CSS`);
