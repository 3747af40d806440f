// Deploy-time setup, run by `anchor migrate` after `anchor deploy` on a
// machine with the Anchor CLI: initializes the exchange, adds shards and the
// two perpetual markets, and registers the provider wallet as a matcher.
//
// Environment: COLLATERAL_MINT (required), SHARDS (default 8).
import * as anchor from "@coral-xyz/anchor";
import { PublicKey, SystemProgram } from "@solana/web3.js";

const TOKEN_PROGRAM_ID = new PublicKey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

function pda(programId: PublicKey, ...seeds: Buffer[]): PublicKey {
  return PublicKey.findProgramAddressSync(seeds, programId)[0];
}

// Mirrors app/client/src/presets.rs.
function perpetual(baseLotSize: number, baseDecimals: number) {
  return {
    tickSize: new anchor.BN(100),
    baseLotSize: new anchor.BN(baseLotSize),
    maxOpenInterestPerShard: new anchor.BN(10_000_000),
    initialMarginBps: 1_000,
    maintenanceMarginBps: 500,
    takerFeeBps: 5,
    makerFeeBps: -1,
    bandBps: 500,
    maxConfidenceBps: 100,
    maxStalenessSecs: 60,
    baseDecimals,
    liquidationFeeBps: 250,
    liquidationInsuranceShareBps: 5_000,
  };
}

function name(s: string): number[] {
  const out = new Array(16).fill(0);
  Buffer.from(s).forEach((c, i) => i < 16 && (out[i] = c));
  return out;
}

module.exports = async function (provider: anchor.AnchorProvider) {
  anchor.setProvider(provider);
  const program = anchor.workspace.Clearshard as anchor.Program;
  const id = program.programId;
  const admin = provider.wallet.publicKey;
  const collateralMint = new PublicKey(process.env.COLLATERAL_MINT ?? "");
  const shards = Number(process.env.SHARDS ?? "8");
  const exchange = pda(id, Buffer.from("exchange"));

  await program.methods
    .initializeExchange()
    .accounts({
      admin,
      exchange,
      collateralMint,
      insuranceVault: pda(id, Buffer.from("insurance")),
      tokenProgram: TOKEN_PROGRAM_ID,
      systemProgram: SystemProgram.programId,
    })
    .rpc();

  for (let index = 0; index < shards; index++) {
    await program.methods
      .addShard(index)
      .accounts({
        admin,
        exchange,
        shard: pda(id, Buffer.from("shard"), u16(index)),
        vault: pda(id, Buffer.from("vault"), u16(index)),
        collateralMint,
        tokenProgram: TOKEN_PROGRAM_ID,
        systemProgram: SystemProgram.programId,
      })
      .rpc();
  }

  const markets: [string, number, number][] = [
    ["BTC-PERP", 10_000, 8],
    ["ETH-PERP", 1_000_000, 9],
  ];
  for (const [i, [label, lot, decimals]] of markets.entries()) {
    await program.methods
      .addMarket(i, name(label), perpetual(lot, decimals))
      .accounts({
        admin,
        exchange,
        market: pda(id, Buffer.from("market"), u16(i)),
        priceFeed: pda(id, Buffer.from("price"), u16(i)),
        systemProgram: SystemProgram.programId,
      })
      .rpc();
  }

  await program.methods
    .registerMatcher()
    .accounts({
      admin,
      exchange,
      authority: admin,
      matcher: pda(id, Buffer.from("matcher"), admin.toBuffer()),
      systemProgram: SystemProgram.programId,
    })
    .rpc();
  console.log(`clearshard initialized: ${shards} shards, ${markets.length} markets, matcher ${admin.toBase58()}`);
};
