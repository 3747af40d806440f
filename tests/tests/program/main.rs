//! The program's integration suite, one binary (each module one concern):
//! linking the bank once instead of per file saves minutes and gigabytes.
mod accruals;
mod admin;
mod breaker;
mod collateral;
mod compute_budget;
mod cross_shard;
mod exploits;
mod forced_exit;
mod funding;
mod insurance_debt;
mod liquidation;
mod matrix;
mod oracle;
mod owner_trade;
mod paused_value;
mod pauses;
mod reserve;
mod settlement;
mod settlement_pool;
mod settlement_records;
mod socialize;
mod stateful;
mod sweep;
mod timelock;
mod wind_down;
