// Deploy-time setup, run by `anchor migrate` after `anchor deploy`: the same
// code as `clearshard init` (app/cli/src/init.rs), which creates the exchange,
// its shards and markets and skips whatever the cluster already holds.
//
// Environment: COLLATERAL_MINT (default: a new mint, the wallet its
// authority), SHARDS (default 16), CLEARSHARD (the CLI binary, default
// target/debug/clearshard: `cargo build -p clearshard-cli`).
import * as anchor from "@anchor-lang/core";
import { execFileSync } from "child_process";

module.exports = async function (provider: anchor.AnchorProvider) {
  const cli = process.env.CLEARSHARD ?? "target/debug/clearshard";
  const wallet = process.env.ANCHOR_WALLET ?? `${process.env.HOME}/.config/solana/id.json`;
  const args = ["--url", provider.connection.rpcEndpoint, "--keypair", wallet, "init"];
  args.push("--shards", process.env.SHARDS ?? "16");
  if (process.env.COLLATERAL_MINT) {
    args.push("--mint", process.env.COLLATERAL_MINT);
  }
  execFileSync(cli, args, { stdio: "inherit" });
};
