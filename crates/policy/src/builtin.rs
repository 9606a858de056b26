//! The packs that ship inside the binary.

use crate::error::PackError;
use crate::load::parse_pack;
use crate::types::Pack;

/// A pack whose files are compiled into the binary.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinPack {
    pub id: &'static str,
    pub pack_toml: &'static str,
    pub clauses_toml: &'static str,
}

impl BuiltinPack {
    pub fn load(&self) -> Result<Pack, Vec<PackError>> {
        parse_pack(self.pack_toml, self.clauses_toml)
    }
}

/// A pack folder under `packs/` at the repository root, embedded in the binary.
macro_rules! builtin {
    ($id:literal) => {
        BuiltinPack {
            id: $id,
            pack_toml: include_str!(concat!("../../../packs/", $id, "/pack.toml")),
            clauses_toml: include_str!(concat!("../../../packs/", $id, "/clauses.toml")),
        }
    };
}

/// Every built-in pack, from `packs/` at the repository root.
pub const BUILTIN: &[BuiltinPack] = &[
    builtin!("cafcass-it-5.0"),
    builtin!("cafcass-it-2.2"),
    builtin!("cafcass-ia-4.3"),
    builtin!("ctcic-ict-6"),
    builtin!("pip-it"),
    builtin!("starter-it-1"),
];

/// Loads every built-in pack. They are tested to load, so an error here is a bug in a pack.
pub fn builtin() -> Result<Vec<Pack>, Vec<PackError>> {
    let mut packs = Vec::new();
    let mut errors = Vec::new();
    for b in BUILTIN {
        match b.load() {
            Ok(p) => packs.push(p),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(packs)
    } else {
        Err(errors)
    }
}

/// Loads the built-in pack `id`, or `None` if there is no such pack.
pub fn builtin_pack(id: &str) -> Option<Result<Pack, Vec<PackError>>> {
    BUILTIN.iter().find(|b| b.id == id).map(BuiltinPack::load)
}
