//! Compute-unit checkpoints for `make bench`, which builds a second binary
//! with feature `cu-trace` to split an instruction's units between Anchor's
//! entry, account loading, the engine and booking. Without the feature (the
//! deployed program) a checkpoint compiles to nothing.

/// Logs the compute units remaining ("Program consumption: N units remaining").
#[inline(always)]
pub fn checkpoint() {
    // SAFETY: the syscall takes no arguments and only writes the log.
    #[cfg(all(feature = "cu-trace", target_os = "solana"))]
    unsafe {
        anchor_lang::compat::solana_define_syscall::definitions::sol_log_compute_units_()
    };
}
