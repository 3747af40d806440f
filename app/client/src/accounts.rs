//! Decoding program accounts from raw bytes (discriminator checked).

use anchor_lang::{Discriminator, ZeroCopy};

#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    WrongSize { expected: usize, got: usize },
    WrongDiscriminator,
}

/// Reads a zero-copy account of type `T` from its data.
pub fn decode<T: ZeroCopy + Discriminator>(data: &[u8]) -> Result<T, DecodeError> {
    let size = 8 + std::mem::size_of::<T>();
    if data.len() != size {
        return Err(DecodeError::WrongSize { expected: size, got: data.len() });
    }
    if !data.starts_with(T::DISCRIMINATOR) {
        return Err(DecodeError::WrongDiscriminator);
    }
    Ok(bytemuck::pod_read_unaligned(&data[8..]))
}
