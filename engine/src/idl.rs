//! The engine's types that live inside on-chain accounts, described for the
//! program's IDL (feature `idl-build`, used only when the IDL is generated).
//!
//! Anchor describes a program's own `zero_copy` types itself, but not types
//! of another crate. Each engine type the accounts embed is declared through
//! [`on_chain_type!`], which emits the struct unchanged and, with the
//! feature, its IDL description from the very same field list — the two
//! cannot drift apart. The feature pulls in `anchor-lang-idl` (serde and
//! friends, no Solana crate); without it nothing here is compiled.

/// Declares a `#[repr(C)]` plain-old-data struct, and with `idl-build` its IDL
/// description (bytemuck serialization, C layout).
macro_rules! on_chain_type {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty ),*
        }

        #[cfg(feature = "idl-build")]
        impl $crate::idl::build::IdlBuild for $name {
            fn create_type() -> Option<$crate::idl::types::IdlTypeDef> {
                use $crate::idl::types::*;
                Some(IdlTypeDef {
                    name: <Self as $crate::idl::build::IdlBuild>::get_full_path(),
                    docs: alloc::vec![],
                    serialization: IdlSerialization::Bytemuck,
                    repr: Some(IdlRepr::C(IdlReprModifier { packed: false, align: None })),
                    generics: alloc::vec![],
                    ty: IdlTypeDefTy::Struct {
                        fields: Some(IdlDefinedFields::Named(alloc::vec![$(
                            IdlField {
                                name: alloc::string::String::from(stringify!($field)),
                                docs: alloc::vec![],
                                ty: <$ty as $crate::idl::IdlFieldType>::idl_type(),
                            }
                        ),*])),
                    },
                })
            }

            fn insert_types(
                types: &mut alloc::collections::BTreeMap<alloc::string::String, $crate::idl::types::IdlTypeDef>,
            ) {
                $( <$ty as $crate::idl::IdlFieldType>::insert_defined(types); )*
            }
        }

        #[cfg(feature = "idl-build")]
        impl $crate::idl::IdlFieldType for $name {
            fn idl_type() -> $crate::idl::types::IdlType {
                $crate::idl::types::IdlType::Defined {
                    name: <Self as $crate::idl::build::IdlBuild>::get_full_path(),
                    generics: alloc::vec![],
                }
            }

            fn insert_defined(
                types: &mut alloc::collections::BTreeMap<alloc::string::String, $crate::idl::types::IdlTypeDef>,
            ) {
                use $crate::idl::build::IdlBuild;
                if let Some(ty) = Self::create_type() {
                    types.insert(Self::get_full_path(), ty);
                }
                <Self as IdlBuild>::insert_types(types);
            }
        }
    };
}
pub(crate) use on_chain_type;

#[cfg(feature = "idl-build")]
pub use anchor_lang_idl::{build, types};

#[cfg(feature = "idl-build")]
mod fields {
    use super::types::{IdlArrayLen, IdlType, IdlTypeDef};
    use alloc::boxed::Box;
    use alloc::collections::BTreeMap;
    use alloc::string::String;

    /// How a field's type appears in the IDL, and the definitions it needs.
    pub trait IdlFieldType {
        fn idl_type() -> IdlType;
        fn insert_defined(_types: &mut BTreeMap<String, IdlTypeDef>) {}
    }

    macro_rules! primitive {
        ($($ty:ty => $idl:ident),*) => {
            $(impl IdlFieldType for $ty {
                fn idl_type() -> IdlType {
                    IdlType::$idl
                }
            })*
        };
    }
    primitive!(u8 => U8, u16 => U16, u32 => U32, u64 => U64, i16 => I16, i32 => I32, i64 => I64);

    impl<T: IdlFieldType, const N: usize> IdlFieldType for [T; N] {
        fn idl_type() -> IdlType {
            IdlType::Array(Box::new(T::idl_type()), IdlArrayLen::Value(N))
        }

        fn insert_defined(types: &mut BTreeMap<String, IdlTypeDef>) {
            T::insert_defined(types);
        }
    }
}
#[cfg(feature = "idl-build")]
pub use fields::IdlFieldType;

#[cfg(all(test, feature = "idl-build"))]
mod tests {
    use super::types::{IdlArrayLen, IdlDefinedFields, IdlType, IdlTypeDef, IdlTypeDefTy};
    use super::IdlFieldType;
    use crate::{CostWindow, MarketParams, Portfolio, Position, SequenceWindow, TradeLimits};
    use alloc::collections::BTreeMap;
    use alloc::string::String;

    fn size(ty: &IdlType, types: &BTreeMap<String, IdlTypeDef>) -> usize {
        match ty {
            IdlType::U8 => 1,
            IdlType::U16 | IdlType::I16 => 2,
            IdlType::U32 | IdlType::I32 => 4,
            IdlType::U64 | IdlType::I64 => 8,
            IdlType::Array(inner, IdlArrayLen::Value(n)) => n * size(inner, types),
            IdlType::Defined { name, .. } => match &types[name].ty {
                IdlTypeDefTy::Struct { fields: Some(IdlDefinedFields::Named(fields)) } => {
                    fields.iter().map(|f| size(&f.ty, types)).sum()
                }
                other => panic!("unexpected {other:?}"),
            },
            other => panic!("unexpected {other:?}"),
        }
    }

    /// The described layout covers every byte of the real one (C layout,
    /// explicit padding: no implicit gaps).
    fn described_size<T: IdlFieldType>() -> usize {
        let mut types = BTreeMap::new();
        T::insert_defined(&mut types);
        size(&T::idl_type(), &types)
    }

    #[test]
    fn every_described_type_has_its_real_size() {
        assert_eq!(described_size::<Portfolio>(), core::mem::size_of::<Portfolio>());
        assert_eq!(described_size::<Position>(), core::mem::size_of::<Position>());
        assert_eq!(described_size::<TradeLimits>(), core::mem::size_of::<TradeLimits>());
        assert_eq!(described_size::<CostWindow>(), core::mem::size_of::<CostWindow>());
        assert_eq!(described_size::<MarketParams>(), core::mem::size_of::<MarketParams>());
        assert_eq!(described_size::<crate::funding::Funding>(), core::mem::size_of::<crate::funding::Funding>());
        assert_eq!(
            described_size::<crate::funding::ShardFunding>(),
            core::mem::size_of::<crate::funding::ShardFunding>()
        );
        assert_eq!(described_size::<SequenceWindow>(), core::mem::size_of::<SequenceWindow>());
    }
}
