//! Events: one per state change a client follows; one per batch, not per fill.
use anchor_lang::prelude::*;

#[event]
pub struct ShardAdded {
    pub shard: u16,
    pub vault: Pubkey,
}

#[event]
pub struct MarginAccountCreated {
    pub account: Pubkey,
    pub owner: Pubkey,
    pub shard: u16,
    pub sub_id: u16,
}

#[event]
pub struct CollateralMoved {
    pub account: Pubkey,
    pub shard: u16,
    /// Positive: deposit or transfer in; negative: withdrawal or transfer out.
    pub amount: i64,
    pub collateral_after: i64,
}

#[event]
pub struct MarketConfigured {
    pub market: u16,
    pub oracle: Pubkey,
}

#[event]
pub struct AccrualsSettled {
    pub account: Pubkey,
    pub shard: u16,
    /// Funding and socialized loss booked: positive paid, negative received.
    pub paid: i64,
    pub collateral_after: i64,
}

#[event]
pub struct AdminProposed {
    pub admin: Pubkey,
    /// `Pubkey::default()`: the proposal is withdrawn.
    pub proposed: Pubkey,
}

#[event]
pub struct AdminChanged {
    pub previous: Pubkey,
    pub admin: Pubkey,
}

/// A change that can move value, announced: it applies at `due` at the
/// earliest (`part`: 0 parameters, 1 price source, 2 the delisting).
#[event]
pub struct MarketChangeQueued {
    pub market: u16,
    pub part: u8,
    pub due: i64,
}

#[event]
pub struct MarketChangeCancelled {
    pub market: u16,
}

#[event]
pub struct MatcherChanged {
    pub authority: Pubkey,
    pub index: u16,
    pub active: bool,
    /// When it may post its first batch.
    pub active_from: i64,
}

#[event]
pub struct BatchSettled {
    pub shard: u16,
    /// `u16::MAX` unless the batch spanned two shards.
    pub second_shard: u16,
    pub matcher: u16,
    pub sequence: u64,
    pub fills: u32,
    pub fees: i64,
    pub volume_lots: u64,
}

/// One trade two owners signed (`settle_owner_trade`): off the book.
#[event]
pub struct OwnerTradeSettled {
    pub market: Pubkey,
    pub taker_account: Pubkey,
    pub maker_account: Pubkey,
    pub taker_buys: bool,
    pub quantity_lots: u32,
    pub price_ticks: u32,
    /// Net fees booked on the taker's shard.
    pub fees: i64,
}

#[event]
pub struct VaultsRebalanced {
    pub from_shard: u16,
    pub to_shard: u16,
    pub amount: u64,
    /// Tokens both shards paid the insurance vault of what they owed it.
    pub insurance_paid: u64,
    /// Tokens the insurance vault paid both shards of what it owed them.
    pub insurance_debt_repaid: u64,
}

#[event]
pub struct FeesSwept {
    pub shard: u16,
    /// Tokens paid from the shard's vault to the treasury.
    pub amount: u64,
    /// Fees that repaid the insurance fund's debt to the shard instead.
    pub insurance_debt_repaid: u64,
}

#[event]
pub struct Liquidated {
    pub liqee: Pubkey,
    pub liqor: Pubkey,
    pub market: u16,
    pub lots: u64,
    pub price: u64,
    pub fee: i64,
    pub insurance: i64,
    pub maintenance_after: i64,
}

#[event]
pub struct BankruptcyResolved {
    pub account: Pubkey,
    pub covered: u64,
    /// Deficit the insurance fund could not cover (stays on the account).
    pub uncovered: u64,
}

/// A funding round completed: the rate of epoch `fill_epoch + 2`.
#[event]
pub struct FundingUpdated {
    pub market: u16,
    /// The funding epoch whose fills the round read.
    pub fill_epoch: i64,
    pub volume_lots: u64,
    /// Σ (price − oracle) × lots of those fills.
    pub premium: i64,
    /// Funding per lot over the epoch after next (positive: longs pay).
    pub rate: i64,
    /// The funding index now.
    pub index: i64,
}

/// The part of a bankrupt account's deficit that no market could carry (a
/// live market with no lot open, or beyond the losses recorded): the
/// account is made whole of it and the insurance fund owes it to the shard.
#[event]
pub struct InsuranceDebtIncurred {
    pub account: Pubkey,
    pub shard: u16,
    pub amount: u64,
    /// The fund's whole debt to the shard after it.
    pub shard_debt: u64,
}

#[event]
pub struct LossSocialized {
    pub account: Pubkey,
    pub market: u16,
    /// The insurance fund's shares held in other shards, used before socializing.
    pub insurance_from_other_shards: u64,
    pub deficit: u64,
    pub per_lot: i64,
    pub open_lots: u64,
}

/// A share of a bankrupt account's deficit that arose in a wound-down market
/// was registered against its settlement pool (paid once final).
#[event]
pub struct DeficitRegistered {
    pub account: Pubkey,
    pub market: u16,
    pub deficit: u64,
}

/// A wound-down market became final: each gain is paid
/// `face × payout_pool / payout_faces`, each registered deficit share
/// `face × recovery_pool / recovery_faces`, rounded down.
#[event]
pub struct WindDownFinal {
    pub market: u16,
    pub payout_pool: u64,
    pub payout_faces: u64,
    pub recovery_pool: u64,
    pub recovery_faces: u64,
}

/// A final market's pool paid an account: its gain and its recovery (faces
/// and what each was paid); `to_insurance` of the gain went to the fund.
#[event]
pub struct SettlementClaimPaid {
    pub account: Pubkey,
    pub market: u16,
    pub gain: u64,
    pub gain_paid: u64,
    pub recovery: u64,
    pub recovery_paid: u64,
    pub to_insurance: u64,
}

/// An account's recorded losses were cleared: it is healthy again, or empty.
#[event]
pub struct LossRecordCleared {
    pub account: Pubkey,
}

/// A market's wind-down was armed: it completes at `due` if still silent.
#[event]
pub struct WindDownArmed {
    pub market: u16,
    pub due: i64,
    pub silent_since: i64,
}

/// A market was wound down: every position closes at `settlement_price`.
#[event]
pub struct MarketWoundDown {
    pub market: u16,
    pub settlement_price: u64,
    /// The oracle was dead: the last price a trade was checked against.
    pub fallback: bool,
    /// The last matcher's batch, listing or pause that kept the market live.
    pub silent_since: i64,
    /// The admin's delisting, not silence, wound it down.
    pub delisted: bool,
    /// The margin account whose exit went unserved for the liveness timeout
    /// and so wound it down (default: none did).
    pub unserved_exit: Pubkey,
}

/// An owner asked to be closed out (`requested_at` > 0) or withdrew the
/// request (0): a matcher serving the market has its liveness timeout to
/// close the account's positions.
#[event]
pub struct ExitRequestChanged {
    pub account: Pubkey,
    pub owner: Pubkey,
    pub requested_at: i64,
}

/// A position in a wound-down market closed at its settlement price.
#[event]
pub struct ClosedAtSettlement {
    pub account: Pubkey,
    pub market: u16,
    /// The position's signed size before (long positive).
    pub lots: i64,
    pub price: u64,
    pub realized: i64,
    /// Funding and socialized loss settled first (negative: received).
    pub accruals: i64,
    /// The gain held in the settlement pool instead of paid.
    pub gain_held: u64,
}
