//! An SBF program that runs the clearshard engine exactly as `settle_batch`
//! runs it once accounts are validated: fills applied to the margin accounts'
//! portfolios, health checked for every touched account. LiteSVM meters it.
//!
//! Accounts: margin accounts (data laid out as the program's `MarginAccount`:
//! 8-byte discriminator, 40-byte header, then the `Portfolio`).
//! Instruction data: an operation byte ([`SETTLE`] or [`LIQUIDATE`]), the
//! market count, the clock, the markets ([`encode_markets`]), then the fills,
//! or for a liquidation the market id (`u16`) and lots (`u64`). A refused
//! batch returns `(fill << 8) | (cause + 1)` as the custom error.
#![no_std]

use clearshard_engine::batch::{BatchMarket, OpenInterest};
use clearshard_engine::{settle_fills, MarketParams, Portfolio, RiskMarket, MAX_BATCH_ACCOUNTS, MAX_BATCH_MARKETS};
use core::mem::{size_of, MaybeUninit};
use solana_compiler_builtins as _;

/// Where the portfolio starts inside a margin account's data.
pub const PORTFOLIO_OFFSET: usize = 48;
pub const MARGIN_ACCOUNT_LEN: usize = PORTFOLIO_OFFSET + size_of::<Portfolio>();
/// One market in the instruction data: id, params, oracle price per lot,
/// cumulative funding per lot, shard open interest.
pub const MARKET_LEN: usize = 2 + size_of::<MarketParams>() + 8 + 8 + 8;
/// Instruction data header: operation, market count, then the clock.
pub const HEADER_LEN: usize = 1 + 1 + 8;
/// Where each field of a market starts within it.
const PARAMS_AT: usize = 2;
const ORACLE_AT: usize = PARAMS_AT + size_of::<MarketParams>();
const FUNDING_AT: usize = ORACLE_AT + 8;
const OPEN_INTEREST_AT: usize = FUNDING_AT + 8;
pub const SETTLE: u8 = 0;
pub const LIQUIDATE: u8 = 1;

/// Encodes the harness instruction data up to the operation's own part.
pub fn encode_markets(op: u8, markets: &[(u16, MarketParams, u64, i64, u64)], now: i64, out: &mut [u8]) -> usize {
    out[0] = op;
    out[1] = markets.len() as u8;
    out[2..10].copy_from_slice(&now.to_le_bytes());
    let mut at = HEADER_LEN;
    for (id, params, oracle, funding, oi) in markets {
        out[at..at + 2].copy_from_slice(&id.to_le_bytes());
        out[at + PARAMS_AT..at + ORACLE_AT].copy_from_slice(bytemuck::bytes_of(params));
        out[at + ORACLE_AT..at + FUNDING_AT].copy_from_slice(&oracle.to_le_bytes());
        out[at + FUNDING_AT..at + OPEN_INTEREST_AT].copy_from_slice(&funding.to_le_bytes());
        out[at + OPEN_INTEREST_AT..at + MARKET_LEN].copy_from_slice(&oi.to_le_bytes());
        at += MARKET_LEN;
    }
    at
}

fn read_u64(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&data[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Runs one operation. `portfolios` are the accounts in instruction order.
pub fn run(portfolios: &mut [&mut Portfolio], data: &[u8]) -> u64 {
    if data.len() < HEADER_LEN {
        return 0xff;
    }
    let count = data[1] as usize;
    let now = read_u64(data, 2) as i64;
    let fills_at = HEADER_LEN + count * MARKET_LEN;
    if count > MAX_BATCH_MARKETS || data.len() < fills_at {
        return 0xff;
    }
    let mut markets = [MaybeUninit::<BatchMarket>::uninit(); MAX_BATCH_MARKETS];
    for (i, slot) in markets.iter_mut().enumerate().take(count) {
        let at = HEADER_LEN + i * MARKET_LEN;
        let id = u16::from_le_bytes([data[at], data[at + 1]]);
        let params: MarketParams = bytemuck::pod_read_unaligned(&data[at + PARAMS_AT..at + ORACLE_AT]);
        let oracle_price = read_u64(data, at + ORACLE_AT);
        let cumulative_funding = read_u64(data, at + FUNDING_AT) as i64;
        let open_interest = read_u64(data, at + OPEN_INTEREST_AT);
        let long = OpenInterest { long: open_interest, short: open_interest };
        slot.write(BatchMarket::new(
            RiskMarket { id, params, oracle_price, reference_price: oracle_price, cumulative_funding, cumulative_loss: 0 },
            [long, OpenInterest::default()],
        ));
    }
    // SAFETY: the first `count` entries were written above.
    let markets = unsafe { core::slice::from_raw_parts(markets.as_ptr() as *const BatchMarket, count) };
    let rest = &data[fills_at..];
    if data[0] == LIQUIDATE {
        return liquidate(markets, portfolios, rest);
    }
    let groups = [0u8; MAX_BATCH_ACCOUNTS];
    match settle_fills(markets, portfolios, &groups[..portfolios.len()], rest, now) {
        Ok(_) => 0,
        Err(e) => ((e.fill as u64) << 8) | (e.cause as u64 + 1),
    }
}

/// The engine part of `liquidate`: accounts are the liquidatee and the liquidator.
/// Its own frame, like the program's instruction handler.
#[inline(never)]
fn liquidate(markets: &[BatchMarket], portfolios: &mut [&mut Portfolio], args: &[u8]) -> u64 {
    let [liqee, liqor] = portfolios else { return 0xfb };
    if args.len() < 10 || markets.len() > MAX_BATCH_MARKETS {
        return 0xfa;
    }
    let mut risk = [MaybeUninit::<RiskMarket>::uninit(); MAX_BATCH_MARKETS];
    for (slot, m) in risk.iter_mut().zip(markets) {
        slot.write(m.risk);
    }
    // SAFETY: the first `markets.len()` entries were written above.
    let risk = unsafe { core::slice::from_raw_parts(risk.as_ptr() as *const RiskMarket, markets.len()) };
    let market_id = u16::from_le_bytes([args[0], args[1]]);
    match clearshard_engine::liquidation::liquidate(liqee, liqor, risk, market_id, read_u64(args, 2)) {
        Ok(_) => 0,
        Err(cause) => cause as u64 + 1,
    }
}

/// Walks the runtime's serialized input (aligned layout of the upgradeable
/// loader) and hands the margin accounts' portfolios and the data to [`run`].
///
/// # Safety
/// `input` must be the buffer the SBF loader passes to a program.
#[no_mangle]
pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
    const MAX_PERMITTED_DATA_INCREASE: usize = 10 * 1024;
    let mut at = 0usize;
    let num_accounts = *(input as *const u64) as usize;
    at += 8;
    if num_accounts > MAX_BATCH_ACCOUNTS {
        return 0xfe;
    }
    let mut refs = [const { MaybeUninit::<&mut Portfolio>::uninit() }; MAX_BATCH_ACCOUNTS];
    for slot in refs.iter_mut().take(num_accounts) {
        let dup = *input.add(at);
        if dup != u8::MAX {
            return 0xfd; // a duplicated account cannot be borrowed twice
        }
        let data_len = *(input.add(at + 8 + 32 + 32 + 8) as *const u64) as usize;
        let data = input.add(at + 8 + 32 + 32 + 8 + 8);
        if data_len != MARGIN_ACCOUNT_LEN {
            return 0xfc;
        }
        slot.write(&mut *(data.add(PORTFOLIO_OFFSET) as *mut Portfolio));
        at += 8 + 32 + 32 + 8 + 8 + data_len + MAX_PERMITTED_DATA_INCREASE;
        at = (at + 7) & !7;
        at += 8; // rent epoch
    }
    let data_len = *(input.add(at) as *const u64) as usize;
    let data = core::slice::from_raw_parts(input.add(at + 8), data_len);
    let portfolios = core::slice::from_raw_parts_mut(refs.as_mut_ptr() as *mut &mut Portfolio, num_accounts);
    run(portfolios, data)
}

#[cfg(target_arch = "bpf")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Unreachable by construction (the engine returns errors). If reached, the
    // loop spends the compute budget and the VM fails the transaction.
    #[allow(clippy::empty_loop)]
    loop {}
}
