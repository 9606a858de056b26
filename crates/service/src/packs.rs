//! Which policy packs the organisation runs: chosen on screen or on the command line, kept and
//! audited in the database, so that every server sharing it runs the same ones. A fresh
//! installation runs none until someone chooses; the packs themselves (built in, or read from
//! folders) are the caller's to load.

use steward_policy::Pack;
use steward_store::PackChoice;

use crate::authority::POLICY_OWNERS;
use crate::{Result, ServiceError, Stamp, Steward};

impl Steward {
    /// Every pack chosen or set aside, by id.
    pub fn pack_choices(&self) -> Result<Vec<PackChoice>> {
        Ok(self.store().packs()?)
    }

    /// The ids of the packs the organisation runs.
    pub fn active_pack_ids(&self) -> Result<Vec<String>> {
        Ok(self
            .pack_choices()?
            .into_iter()
            .filter(|p| p.active)
            .map(|p| p.id)
            .collect())
    }

    /// Makes pack `id` active or not: the governance team's and the administrator's to decide.
    /// A pack is made active only if it is among `known` (those the server can load); one no
    /// longer known may still be set aside. `false` when it already stood so.
    pub fn set_pack_active(
        &self,
        stamp: &Stamp,
        id: &str,
        active: bool,
        known: &[Pack],
    ) -> Result<bool> {
        stamp.require(POLICY_OWNERS, "choosing the policies the organisation runs")?;
        if active && !known.iter().any(|p| p.id == id) {
            return Err(ServiceError::UnknownPack {
                id: id.to_owned(),
                known: known.iter().map(|p| p.id.clone()).collect(),
            });
        }
        Ok(self
            .store()
            .set_pack_active(&stamp.actor, stamp.at, id, active)?)
    }

    /// On a database whose checks ran before the organisation's packs were kept here, and where
    /// none has been chosen since: the packs that ran are made active (audited), so that an
    /// upgrade changes nothing about what is checked. Does nothing once any choice exists.
    pub(crate) fn adopt_packs_run(&self, stamp: &Stamp) -> Result<usize> {
        if !self.store().packs()?.is_empty() {
            return Ok(0);
        }
        let mut adopted = 0;
        for id in self.store().packs_run()? {
            if self
                .store()
                .set_pack_active(&stamp.actor, stamp.at, &id, true)?
            {
                adopted += 1;
            }
        }
        Ok(adopted)
    }
}

/// The packs among `available` that `active` names, in `available`'s order.
pub fn active_among(available: &[Pack], active: &[String]) -> Vec<Pack> {
    available
        .iter()
        .filter(|p| active.contains(&p.id))
        .cloned()
        .collect()
}
