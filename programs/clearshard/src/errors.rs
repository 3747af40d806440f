use anchor_lang::prelude::*;
use clearshard_engine::EngineError;

/// Every refusal of clearshard, each with its own code (6000 + position).
/// Append only: codes are part of the interface.
#[error_code]
#[derive(PartialEq, Eq)]
pub enum ClearshardError {
    #[msg("signer is not the exchange admin")]
    NotAdmin,
    #[msg("signer is not the owner of the margin account")]
    NotOwner,
    #[msg("amount must be greater than zero")]
    ZeroAmount,
    #[msg("arithmetic overflow")]
    MathOverflow,
    #[msg("deposits are paused")]
    DepositsPaused,
    #[msg("withdrawals are paused")]
    WithdrawalsPaused,
    #[msg("settlement is paused")]
    SettlementPaused,
    #[msg("shard index is not the next one")]
    ShardIndexNotNext,
    #[msg("shard does not exist")]
    UnknownShard,
    #[msg("too many shards")]
    TooManyShards,
    #[msg("margin account belongs to another shard")]
    MarginAccountOfAnotherShard,
    #[msg("vault is not the shard's vault")]
    VaultOfAnotherShard,
    #[msg("token account mint is not the collateral mint")]
    WrongMint,
    #[msg("not enough collateral")]
    InsufficientCollateral,
    #[msg("the action would leave the account below initial margin")]
    BreaksInitialMargin,
    #[msg("shard vault holds fewer tokens than requested: rebalance_vaults first")]
    VaultShortfall,
    #[msg("market does not exist")]
    UnknownMarket,
    #[msg("too many markets")]
    TooManyMarkets,
    #[msg("invalid market parameters")]
    InvalidMarketParams,
    #[msg("oracle account is not the market's oracle")]
    WrongOracle,
    #[msg("oracle price is stale")]
    StaleOracle,
    #[msg("oracle confidence interval too wide")]
    OracleConfidenceTooWide,
    #[msg("oracle price invalid")]
    InvalidOraclePrice,
    #[msg("a market is listed twice in the batch")]
    DuplicateMarket,
    #[msg("a margin account the positions need is missing its market")]
    MissingMarket,
    #[msg("too many matchers")]
    TooManyMatchers,
    #[msg("matcher is not registered or was revoked")]
    MatcherNotRegistered,
    #[msg("batch sequence already used (replay)")]
    BatchSequenceReplayed,
    #[msg("batch sequence is 64 or more above the matcher's next one on this shard")]
    BatchSequenceBeyondWindow,
    #[msg("margin account listed twice")]
    DuplicateMarginAccount,
    #[msg("margin account must be writable")]
    MarginAccountNotWritable,
    #[msg("batch is malformed or too large")]
    MalformedBatch,
    #[msg("fill names an account index outside the batch")]
    AccountIndexOutOfRange,
    #[msg("fill names a market slot outside the batch")]
    MarketIndexOutOfRange,
    #[msg("maker and taker are the same account")]
    SelfTrade,
    #[msg("fill has zero quantity or price")]
    ZeroQuantityOrPrice,
    #[msg("fill price outside the market band around the oracle")]
    PriceOutsideBand,
    #[msg("owner's limits do not allow this market")]
    MarketNotAllowedByOwner,
    #[msg("fill quantity above the owner's limit")]
    QuantityAboveOwnerLimit,
    #[msg("fill price further from the oracle than the owner allows")]
    PriceBeyondOwnerLimit,
    #[msg("owner's matcher limits have expired")]
    OwnerLimitsExpired,
    #[msg("no free position slot")]
    PositionSlotsFull,
    #[msg("shard open interest cap exceeded")]
    OpenInterestCapExceeded,
    #[msg("account would be undercollateralized after the batch")]
    Undercollateralized,
    #[msg("cross batch needs two distinct shards, lower index first")]
    CrossBatchShardOrder,
    #[msg("source and destination are the same account")]
    SameAccount,
    #[msg("vault balances already match the shards' claims")]
    NothingToRebalance,
    #[msg("margin account still holds positions or collateral")]
    MarginAccountNotEmpty,
    #[msg("invalid matcher limits")]
    InvalidLimits,
    #[msg("market id is not the next one")]
    MarketIdNotNext,
    #[msg("matcher was revoked")]
    MatcherRevoked,
    #[msg("account is not below maintenance margin")]
    NotLiquidatable,
    #[msg("liquidatee holds no position in that market")]
    NoPositionToLiquidate,
    #[msg("more lots than needed to restore the liquidatee")]
    LiquidationExceedsAllowed,
    #[msg("liquidation did not improve the liquidatee's health")]
    LiquidationDidNotImprove,
    #[msg("liquidator would end below initial margin")]
    LiquidatorUnderInitialMargin,
    #[msg("liquidator and liquidatee have the same owner")]
    SelfLiquidation,
    #[msg("account is not bankrupt (positions open or collateral not negative)")]
    NotBankrupt,
    #[msg("insurance fund is empty")]
    InsuranceFundEmpty,
    #[msg("not the exchange's insurance vault")]
    WrongInsuranceVault,
    #[msg("oracle account is not owned by the oracle's program")]
    OracleOwnedByWrongProgram,
    #[msg("oracle account is not a price update")]
    OracleAccountMalformed,
    #[msg("price update is for another feed")]
    OracleFeedMismatch,
    #[msg("price update is not fully verified")]
    OracleNotFullyVerified,
    #[msg("unknown oracle kind")]
    InvalidOracleKind,
    /// Retired (the mark now comes from every shard's fills); kept so that
    /// later codes keep their numbers.
    #[msg("no shard given has a fill price in this market")]
    NoMarkPrice,
    #[msg("the market has no open positions to carry the loss")]
    NoOpenInterest,
    /// Retired (socialize_loss now draws the insurance fund first); kept so
    /// that later codes keep their numbers.
    #[msg("the insurance fund still holds tokens: resolve_bankruptcy first")]
    InsuranceNotExhausted,
    #[msg("every shard must be passed, in index order")]
    ShardsIncomplete,
    #[msg("fill would take the owner's adverse execution cost past its budget for the window")]
    AdverseCostBudgetExceeded,
    #[msg("fill would grow a position beyond the owner's cap")]
    PositionAboveOwnerLimit,
    #[msg("batch lists a margin account that no fill touches")]
    AccountNotInAnyFill,
    #[msg("shards must be read in index order, each once per funding round")]
    ShardOutOfOrder,
    #[msg("a socialized loss belongs to the market whose liquidation left the account bankrupt")]
    LossOfAnotherMarket,
    #[msg("tick size, lot size and decimals of a listed market cannot change")]
    MarketUnitsImmutable,
    #[msg("the token account belongs to someone other than the margin account's owner")]
    TokenAccountOfAnotherOwner,
    #[msg("batch sequence fell below the matcher's window on this shard: it can never settle")]
    BatchSequenceTooOld,
    #[msg("the funding round of the epoch that just ended has already set its rate")]
    FundingRoundComplete,
    #[msg("a funding round reads an epoch only during the epoch after it")]
    FundingRoundExpired,
    #[msg("the built-in price feed serves only markets listed as test markets")]
    BuiltinFeedOnTestMarketsOnly,
    #[msg("signer is not the admin this exchange's admin proposed")]
    NotProposedAdmin,
    #[msg("the account owes and is owed no funding or socialized loss")]
    NothingToSettle,
    #[msg("a venue that is not a test venue needs a timelock of at least a day")]
    TimelockTooShort,
    #[msg("test markets (priced by the built-in feed) may be listed on test venues only")]
    NotATestVenue,
    #[msg("the queued change is not due yet")]
    ChangeNotDue,
    #[msg("no change is queued for this market")]
    NoChangeQueued,
    #[msg("the matcher's registration has not yet waited out the timelock")]
    MatcherNotYetActive,
    #[msg("the market's listing has not yet waited out the timelock")]
    MarketNotYetListed,
    #[msg("a queued change cannot apply while withdrawals or settlement are paused anywhere")]
    ChangeBlockedByPause,
    #[msg("the queued change was not applied within a timelock of its due time: queue it again")]
    ChangeExpired,
    #[msg("a new pause must wait a day after the last pause anywhere ended")]
    PauseTooSoon,
    #[msg("the treasury is not a token account of the collateral mint")]
    WrongTreasury,
    #[msg("the shard holds no swept-ready fees: none accrued, or its vault does not back them")]
    NoFeesToSweep,
    #[msg("lift the lapsed pauses on other scopes before a new pause: it would revive them")]
    LapsedPauseStillSet,
    #[msg("a built-in feed keeps the exponent it was first priced in")]
    FeedExponentFixed,
    #[msg("an owner trade takes one (market, oracle) pair, then the taker's and the maker's margin accounts")]
    OwnerTradeAccounts,
    #[msg("the owner trade's signed expiry has passed")]
    OwnerTradeExpired,
    #[msg("the market was wound down: it trades no more, and its positions close at the settlement price")]
    MarketWoundDown,
    #[msg("a matcher's batch settled the market, or it was listed or a pause ended, within its liveness timeout")]
    MarketStillLive,
    #[msg("the market is not wound down: positions close by trading")]
    MarketNotWoundDown,
    #[msg("the account holds no position in that market")]
    NoPositionToClose,
    #[msg("the wind-down was armed less than the market's liveness timeout ago")]
    WindDownNotDue,
    #[msg("the owner asked to exit: fills may only reduce the account's positions")]
    ExitRequested,
    #[msg("the account's exit request is already as asked")]
    ExitRequestUnchanged,
    #[msg("the account has not asked to exit")]
    NoExitRequested,
    #[msg("the exit was requested (or a settlement pause ended) less than the market's liveness timeout ago")]
    ExitRequestNotDue,
    #[msg("the account holds no position in the market: its exit was served there")]
    ExitServed,
    #[msg("the exiting account holds other markets too: move them to another account of the owner first")]
    ExitHoldsOtherMarkets,
    #[msg("an exiting account's fill may cost it at most the exit band from the breaker-held oracle")]
    PriceBeyondExitBand,
    #[msg("this exit fell due after the wind-down was armed: only an exit due then completes it")]
    ExitDueAfterArming,
    #[msg("this wound-down market is final already")]
    WindDownFinal,
    #[msg("a position in the wound-down market is still open")]
    WindDownPositionsOpen,
    #[msg("an account with a loss recorded in the wound-down market is still to be resolved")]
    WindDownLossesPending,
    #[msg("the wound-down market is not final yet: its pool pays once it is")]
    WindDownNotFinal,
    #[msg("the account holds no settlement gain or recovery in this market")]
    NoSettlementClaim,
    #[msg("the account has no loss recorded")]
    NoLossRecorded,
    #[msg("the account is still under water: liquidate or resolve it instead")]
    AccountUnderWater,
    #[msg("the account still holds a position in a wound-down market: close it at the settlement price first")]
    SettlementClosePending,
}

impl From<EngineError> for ClearshardError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Overflow => ClearshardError::MathOverflow,
            EngineError::AccountIndexOutOfRange => ClearshardError::AccountIndexOutOfRange,
            EngineError::MarketIndexOutOfRange => ClearshardError::MarketIndexOutOfRange,
            EngineError::SelfTrade => ClearshardError::SelfTrade,
            EngineError::ZeroQuantityOrPrice => ClearshardError::ZeroQuantityOrPrice,
            EngineError::PriceOutsideBand => ClearshardError::PriceOutsideBand,
            EngineError::MarketNotAllowedByOwner => ClearshardError::MarketNotAllowedByOwner,
            EngineError::QuantityAboveOwnerLimit => ClearshardError::QuantityAboveOwnerLimit,
            EngineError::PriceBeyondOwnerLimit => ClearshardError::PriceBeyondOwnerLimit,
            EngineError::OwnerLimitsExpired => ClearshardError::OwnerLimitsExpired,
            EngineError::PositionSlotsFull => ClearshardError::PositionSlotsFull,
            EngineError::OpenInterestCapExceeded => ClearshardError::OpenInterestCapExceeded,
            EngineError::Undercollateralized => ClearshardError::Undercollateralized,
            EngineError::MissingMarket => ClearshardError::MissingMarket,
            EngineError::MalformedBatch => ClearshardError::MalformedBatch,
            EngineError::InvalidOraclePrice => ClearshardError::InvalidOraclePrice,
            EngineError::OracleConfidenceTooWide => ClearshardError::OracleConfidenceTooWide,
            EngineError::NotLiquidatable => ClearshardError::NotLiquidatable,
            EngineError::NoPositionToLiquidate => ClearshardError::NoPositionToLiquidate,
            EngineError::LiquidationExceedsAllowed => ClearshardError::LiquidationExceedsAllowed,
            EngineError::LiquidationDidNotImprove => ClearshardError::LiquidationDidNotImprove,
            EngineError::LiquidatorUnderInitialMargin => ClearshardError::LiquidatorUnderInitialMargin,
            EngineError::NotBankrupt => ClearshardError::NotBankrupt,
            EngineError::OracleAccountMalformed => ClearshardError::OracleAccountMalformed,
            EngineError::NoOpenInterest => ClearshardError::NoOpenInterest,
            EngineError::AdverseCostBudgetExceeded => ClearshardError::AdverseCostBudgetExceeded,
            EngineError::PositionAboveOwnerLimit => ClearshardError::PositionAboveOwnerLimit,
            EngineError::AccountNotInAnyFill => ClearshardError::AccountNotInAnyFill,
            EngineError::ShardOutOfOrder => ClearshardError::ShardOutOfOrder,
            EngineError::FundingRoundComplete => ClearshardError::FundingRoundComplete,
            EngineError::FundingRoundExpired => ClearshardError::FundingRoundExpired,
            EngineError::MarketWoundDown => ClearshardError::MarketWoundDown,
            EngineError::NoPositionToClose => ClearshardError::NoPositionToClose,
            EngineError::ExitRequested => ClearshardError::ExitRequested,
            EngineError::PriceBeyondExitBand => ClearshardError::PriceBeyondExitBand,
        }
    }
}
