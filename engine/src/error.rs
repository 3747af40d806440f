//! Why the engine refused something. The program maps each cause to its own
//! error code; `FillError` also names the fill that caused it.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// Arithmetic left the representable range.
    Overflow,
    /// A fill names an account index the batch does not carry.
    AccountIndexOutOfRange,
    /// A fill names a market slot the batch does not carry.
    MarketIndexOutOfRange,
    /// Maker and taker are the same account.
    SelfTrade,
    /// Zero quantity or zero price.
    ZeroQuantityOrPrice,
    /// Price outside the market's band around the oracle.
    PriceOutsideBand,
    /// The owner's limits do not allow this market.
    MarketNotAllowedByOwner,
    /// Quantity above the owner's maximum per fill.
    QuantityAboveOwnerLimit,
    /// Price further from the oracle than the owner allows.
    PriceBeyondOwnerLimit,
    /// The owner's limits have expired.
    OwnerLimitsExpired,
    /// Every position slot of the account is in use.
    PositionSlotsFull,
    /// The shard's open interest in the market would exceed its cap.
    OpenInterestCapExceeded,
    /// The account's health rule fails after the batch.
    Undercollateralized,
    /// The account holds a position in a market the caller did not supply.
    MissingMarket,
    /// Fill bytes are not a whole number of fills, or the batch is too large.
    MalformedBatch,
    /// Oracle price is not positive or its exponent cannot be applied.
    InvalidOraclePrice,
    /// Oracle confidence interval is wider than the market allows.
    OracleConfidenceTooWide,
    /// The account's maintenance health is not negative.
    NotLiquidatable,
    /// The liquidatee holds no position in that market.
    NoPositionToLiquidate,
    /// More lots than needed to restore the liquidatee.
    LiquidationExceedsAllowed,
    /// The liquidation did not improve the liquidatee's health.
    LiquidationDidNotImprove,
    /// The liquidator would end below initial margin.
    LiquidatorUnderInitialMargin,
    /// The account still has positions or non-negative collateral.
    NotBankrupt,
    /// The oracle account's bytes are not a price update.
    OracleAccountMalformed,
    /// The market has no open positions to carry a loss.
    NoOpenInterest,
    /// The fill would take the owner's adverse execution cost past its
    /// budget for the window.
    AdverseCostBudgetExceeded,
    /// The fill would grow a position beyond the owner's cap.
    PositionAboveOwnerLimit,
    /// The batch lists a margin account that no fill touches.
    AccountNotInAnyFill,
    /// A funding round reads shards in index order, each once.
    ShardOutOfOrder,
    /// This epoch's funding round has already set its rate.
    FundingRoundComplete,
    /// A shard has settled fills two epochs past the round's: the round's
    /// window (the epoch after the one it reads) is over.
    FundingRoundExpired,
    /// The market was wound down: it trades no more.
    MarketWoundDown,
    /// The account holds no position in that market.
    NoPositionToClose,
    /// The owner asked to exit: fills may only reduce the account's positions.
    ExitRequested,
    /// An exiting account's fill is worse for it than the exit band allows.
    PriceBeyondExitBand,
}

/// A failed batch: which fill, and why. Health failures name the last fill
/// that touched the failing account; refusals of the batch as a whole name
/// `batch::WHOLE_BATCH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillError {
    pub fill: u16,
    pub cause: EngineError,
}

impl FillError {
    pub fn at(fill: usize, cause: EngineError) -> Self {
        // Batches hold at most 1232 / 11 fills: the index always fits.
        FillError { fill: u16::try_from(fill).unwrap_or(u16::MAX), cause }
    }
}
