//! One instruction per file. The glob re-exports let `#[program]` find the
//! client modules `#[derive(Accounts)]` generates; handlers are called by path.
pub mod accept_admin;
pub mod add_market;
pub mod add_shard;
pub mod apply_market_change;
pub mod bankrupt_account;
pub mod cancel_market_change;
pub mod claim_settlement_gain;
pub mod clear_loss_record;
pub mod close_at_settlement;
pub mod close_margin_account;
pub mod collateral_accounts;
pub mod create_margin_account;
pub mod delist_market;
pub mod deposit;
pub mod deposit_insurance;
pub mod finalize_wind_down;
pub mod initialize_exchange;
pub mod liquidate;
pub mod propose_admin;
pub mod rebalance_vaults;
pub mod register_matcher;
pub mod request_exit;
pub mod resolve_bankruptcy;
pub mod revoke_matcher;
pub mod set_market_oracle;
pub mod set_matcher_limits;
pub mod set_pause;
pub mod set_price;
pub mod settle_account;
pub mod settle_batch;
pub mod settle_cross_batch;
pub mod settle_owner_trade;
pub mod socialize_loss;
pub mod sweep_fees;
pub mod transfer_collateral;
pub mod update_funding;
pub mod update_market;
pub mod wind_down_market;
pub mod withdraw;
pub mod wound_down_position;

#[allow(ambiguous_glob_reexports)]
pub use accept_admin::*;
#[allow(ambiguous_glob_reexports)]
pub use add_market::*;
#[allow(ambiguous_glob_reexports)]
pub use add_shard::*;
#[allow(ambiguous_glob_reexports)]
pub use apply_market_change::*;
#[allow(ambiguous_glob_reexports)]
pub use bankrupt_account::*;
#[allow(ambiguous_glob_reexports)]
pub use cancel_market_change::*;
#[allow(ambiguous_glob_reexports)]
pub use claim_settlement_gain::*;
#[allow(ambiguous_glob_reexports)]
pub use clear_loss_record::*;
#[allow(ambiguous_glob_reexports)]
pub use close_at_settlement::*;
#[allow(ambiguous_glob_reexports)]
pub use close_margin_account::*;
#[allow(ambiguous_glob_reexports)]
pub use collateral_accounts::*;
#[allow(ambiguous_glob_reexports)]
pub use create_margin_account::*;
#[allow(ambiguous_glob_reexports)]
pub use delist_market::*;
#[allow(ambiguous_glob_reexports)]
pub use deposit_insurance::*;
#[allow(ambiguous_glob_reexports)]
pub use finalize_wind_down::*;
#[allow(ambiguous_glob_reexports)]
pub use initialize_exchange::*;
#[allow(ambiguous_glob_reexports)]
pub use liquidate::*;
#[allow(ambiguous_glob_reexports)]
pub use propose_admin::*;
#[allow(ambiguous_glob_reexports)]
pub use rebalance_vaults::*;
#[allow(ambiguous_glob_reexports)]
pub use register_matcher::*;
#[allow(ambiguous_glob_reexports)]
pub use request_exit::*;
#[allow(ambiguous_glob_reexports)]
pub use resolve_bankruptcy::*;
#[allow(ambiguous_glob_reexports)]
pub use revoke_matcher::*;
#[allow(ambiguous_glob_reexports)]
pub use set_market_oracle::*;
#[allow(ambiguous_glob_reexports)]
pub use set_matcher_limits::*;
#[allow(ambiguous_glob_reexports)]
pub use set_pause::*;
#[allow(ambiguous_glob_reexports)]
pub use set_price::*;
#[allow(ambiguous_glob_reexports)]
pub use settle_account::*;
#[allow(ambiguous_glob_reexports)]
pub use settle_batch::*;
#[allow(ambiguous_glob_reexports)]
pub use settle_cross_batch::*;
#[allow(ambiguous_glob_reexports)]
pub use settle_owner_trade::*;
#[allow(ambiguous_glob_reexports)]
pub use socialize_loss::*;
pub use sweep_fees::*;
#[allow(ambiguous_glob_reexports)]
pub use transfer_collateral::*;
#[allow(ambiguous_glob_reexports)]
pub use update_funding::*;
#[allow(ambiguous_glob_reexports)]
pub use update_market::*;
#[allow(ambiguous_glob_reexports)]
pub use wind_down_market::*;
#[allow(ambiguous_glob_reexports)]
pub use wound_down_position::*;
