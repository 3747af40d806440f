//! PDA seed prefixes, one place for program and client.

use anchor_lang::prelude::Pubkey;

pub const EXCHANGE: &[u8] = b"exchange";
/// The exchange's address, `find_program_address([EXCHANGE], ID)`, written
/// out: instructions compare the key (a few CU) instead of re-deriving the
/// PDA (1,500 CU per `create_program_address`). Checked by a test below.
pub const EXCHANGE_ADDRESS: Pubkey = Pubkey::from_str_const("3PR5XYZzLPtFvHXjQoxMZzJtmTspWFnBKZmMsRvDNo1J");
pub const SHARD: &[u8] = b"shard";
pub const VAULT: &[u8] = b"vault";
pub const INSURANCE: &[u8] = b"insurance";
pub const MARKET: &[u8] = b"market";
pub const PRICE: &[u8] = b"price";
pub const MATCHER: &[u8] = b"matcher";
pub const MARGIN: &[u8] = b"margin";

#[cfg(test)]
mod tests {
    #[test]
    fn the_exchange_address_is_its_pda() {
        let (pda, _) = super::Pubkey::find_program_address(&[super::EXCHANGE], &crate::ID);
        assert_eq!(pda, super::EXCHANGE_ADDRESS);
    }
}
