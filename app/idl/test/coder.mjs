// clearshard's committed IDL through Anchor's own TypeScript client
// (@anchor-lang/core 1.x, BorshCoder). Input: a fixtures file the Rust side
// wrote (app/cli/tests/idl.rs): every instruction with the arguments the Rust
// client used and the bytes it built; every account type and event as bytes
// with the values they must decode to. Exits non-zero on the first mismatch.
//
// A TypeScript integrator builds the batch instructions the same way: the IDL
// gives `settle_batch` and `settle_cross_batch` one-byte discriminators
// ([193], [194]); arguments are `sequence` (u64), `market_count` (u8) and
// `fills` (bytes: 11 bytes a fill), then remaining accounts in order: a
// (market, oracle) pair per market, then the batch's margin accounts.
import { BorshCoder } from "@anchor-lang/core";
import { PublicKey } from "@solana/web3.js";
import BN from "bn.js";
import fs from "fs";

const idl = JSON.parse(fs.readFileSync(new URL("../clearshard.json", import.meta.url)));
const coder = new BorshCoder(idl);
const typedefs = Object.fromEntries(idl.types.map((t) => [t.name, t]));

// A JSON argument as the coder takes it, by the IDL type.
function value(type, json) {
  if (typeof type === "string") {
    switch (type) {
      case "u64": case "i64": case "u128": case "i128":
        return new BN(json);
      case "pubkey":
        return new PublicKey(json);
      case "bytes":
        return Buffer.from(json, "hex");
      default:
        return json;
    }
  }
  if (type.array) return json.map((v) => value(type.array[0], v));
  if (type.vec) return json.map((v) => value(type.vec, v));
  if (type.option) return json === null ? null : value(type.option, json);
  if (type.defined) {
    const def = typedefs[type.defined.name];
    if (def.type.kind === "enum") return json;
    return Object.fromEntries(def.type.fields.map((f) => [f.name, value(f.type, json[f.name])]));
  }
  throw new Error(`unsupported IDL type ${JSON.stringify(type)}`);
}

// A decoded field, as the string the fixture expects.
function text(v) {
  if (v instanceof PublicKey) return v.toBase58();
  if (BN.isBN(v)) return v.toString();
  return String(v);
}

function at(object, path) {
  return path.split(".").reduce((o, key) => (o === undefined ? undefined : o[key]), object);
}

function check(kind, name, decoded, expect) {
  for (const [path, want] of Object.entries(expect)) {
    const got = at(decoded, path);
    if (got === undefined || text(got) !== want) {
      throw new Error(`${kind} ${name}: ${path} decoded as ${got === undefined ? "nothing" : text(got)}, expected ${want}`);
    }
  }
}

const fixtures = JSON.parse(fs.readFileSync(process.argv[2]));

for (const ix of fixtures.instructions) {
  const def = idl.instructions.find((i) => i.name === ix.name);
  if (!def) throw new Error(`instruction ${ix.name} is not in the IDL`);
  const args = Object.fromEntries(def.args.map((a) => [a.name, value(a.type, ix.args[a.name])]));
  const encoded = coder.instruction.encode(ix.name, args).toString("hex");
  if (encoded !== ix.data) {
    throw new Error(`instruction ${ix.name}: TypeScript encodes ${encoded}, the Rust client built ${ix.data}`);
  }
  const back = coder.instruction.decode(Buffer.from(ix.data, "hex"));
  if (!back || back.name !== ix.name) throw new Error(`instruction ${ix.name}: decodes as ${back && back.name}`);
}

for (const account of fixtures.accounts) {
  const decoded = coder.accounts.decode(account.name, Buffer.from(account.data, "hex"));
  check("account", account.name, decoded, account.expect);
}

for (const event of fixtures.events) {
  const decoded = coder.events.decode(event.data);
  if (!decoded || decoded.name !== event.name) throw new Error(`event ${event.name}: decodes as ${decoded && decoded.name}`);
  check("event", event.name, decoded.data, event.expect);
}

console.log(
  `${fixtures.instructions.length} instructions encoded byte for byte; ` +
    `${fixtures.accounts.length} account types and ${fixtures.events.length} events decoded`,
);
