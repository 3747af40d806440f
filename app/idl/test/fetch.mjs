// Every clearshard account on a live cluster, fetched over JSON-RPC and
// decoded by Anchor's TypeScript client from the committed IDL alone: what a
// TypeScript integrator sees. Prints one JSON summary (the end-to-end test
// app/cli/tests/localnet.rs compares it with the chain as Rust decodes it).
//
// Usage: node fetch.mjs RPC_URL
import { BorshCoder } from "@anchor-lang/core";
import { Connection, PublicKey } from "@solana/web3.js";
import fs from "fs";

const idl = JSON.parse(fs.readFileSync(new URL("../clearshard.json", import.meta.url)));
const coder = new BorshCoder(idl);
const connection = new Connection(process.argv[2], "confirmed");
const program = new PublicKey(idl.address);

function kind(data) {
  for (const account of idl.accounts) {
    if (Buffer.from(account.discriminator).equals(data.subarray(0, 8))) return account.name;
  }
  return null;
}

const summary = { Exchange: [], Shard: [], Market: [], Matcher: [], PriceFeed: [], MarginAccount: [] };
for (const { pubkey, account } of await connection.getProgramAccounts(program)) {
  const name = kind(account.data);
  if (!name) continue;
  const a = coder.accounts.decode(name, account.data);
  const address = pubkey.toBase58();
  switch (name) {
    case "Exchange":
      summary.Exchange.push({ address, shard_count: a.shard_count, market_count: a.market_count, admin: a.admin.toBase58() });
      break;
    case "Shard":
      summary.Shard.push({
        address,
        index: a.index,
        collateral_claims: a.collateral_claims.toString(),
        margin_accounts: a.margin_accounts.toString(),
        sequences_next: a.sequences.map((w) => w.next.toString()),
      });
      break;
    case "MarginAccount":
      summary.MarginAccount.push({
        address,
        owner: a.owner.toBase58(),
        shard: a.shard,
        collateral: a.portfolio.collateral.toString(),
        positions: a.portfolio.positions
          .filter((p) => !p.base_lots.isZero())
          .map((p) => ({ market: p.market_id, base_lots: p.base_lots.toString() })),
      });
      break;
    case "Market":
      summary.Market.push({ address, id: a.id, oracle: a.oracle.toBase58() });
      break;
    case "Matcher":
      summary.Matcher.push({ address, authority: a.authority.toBase58(), index: a.index });
      break;
    case "PriceFeed":
      summary.PriceFeed.push({ address, price: a.price.toString(), expo: a.expo });
      break;
  }
}
console.log(JSON.stringify(summary));
