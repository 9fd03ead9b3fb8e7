// Extracts one entry of a zip archive with Node's own zlib, so fetching Helm needs no `unzip` on the machine.
// Usage: node unzip-entry.mjs ARCHIVE ENTRY DEST
import { readFileSync, writeFileSync, chmodSync } from "node:fs";
import { inflateRawSync } from "node:zlib";

const [archive, entryName, dest] = process.argv.slice(2);
if (!dest) {
  console.error("usage: unzip-entry.mjs ARCHIVE ENTRY DEST");
  process.exit(2);
}
const zip = readFileSync(archive);

// The end-of-central-directory record is in the last 64 KiB + 22 bytes.
let eocd = -1;
for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65557); i--) {
  if (zip.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
}
if (eocd < 0) throw new Error(`${archive}: not a zip archive (no end of central directory)`);
const entries = zip.readUInt16LE(eocd + 10);
let p = zip.readUInt32LE(eocd + 16);
for (let n = 0; n < entries; n++) {
  if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`${archive}: corrupt central directory`);
  const method = zip.readUInt16LE(p + 10);
  const compressedSize = zip.readUInt32LE(p + 20);
  const size = zip.readUInt32LE(p + 24);
  const nameLength = zip.readUInt16LE(p + 28);
  const extraLength = zip.readUInt16LE(p + 30);
  const commentLength = zip.readUInt16LE(p + 32);
  const localHeader = zip.readUInt32LE(p + 42);
  const name = zip.toString("utf8", p + 46, p + 46 + nameLength);
  p += 46 + nameLength + extraLength + commentLength;
  if (name !== entryName) continue;
  if (compressedSize === 0xffffffff || localHeader === 0xffffffff) throw new Error(`${name}: zip64 entries are not supported`);
  const start = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
  const raw = zip.subarray(start, start + compressedSize);
  const data = method === 0 ? raw : method === 8 ? inflateRawSync(raw) : null;
  if (data === null) throw new Error(`${name}: unsupported compression method ${method}`);
  if (data.length !== size) throw new Error(`${name}: extracted ${data.length} bytes, expected ${size}`);
  writeFileSync(dest, data);
  chmodSync(dest, 0o755);
  process.exit(0);
}
console.error(`${archive}: no entry named ${entryName}`);
process.exit(1);
